import { api } from './actions';
import { navigate } from './router';

// Web Push in the browser: the service worker (public/sw.js, at the site root so its scope covers the app),
// the PushManager subscription, and the server routes that keep it (POST|DELETE /users/@me/push-subscriptions).

export const pushSupported = (): boolean =>
  typeof navigator !== 'undefined' &&
  'serviceWorker' in navigator &&
  typeof window !== 'undefined' &&
  'PushManager' in window &&
  typeof Notification !== 'undefined';

/** Registers the service worker and follows its "open this channel" messages (a notification clicked). */
export function startServiceWorker(): void {
  if (!('serviceWorker' in navigator)) return;
  navigator.serviceWorker.register('/sw.js', { scope: '/' }).catch(() => undefined);
  navigator.serviceWorker.addEventListener(
    'message',
    (event: MessageEvent<{ type?: string; url?: string }>) => {
      if (event.data?.type === 'parley:open' && typeof event.data.url === 'string') navigate(event.data.url);
    },
  );
}

/** This browser's current push subscription, if any. */
export async function currentSubscription(): Promise<PushSubscription | null> {
  if (!pushSupported()) return null;
  const registration = await navigator.serviceWorker.ready;
  return registration.pushManager.getSubscription();
}

/** Asks permission, subscribes with the instance's VAPID key and hands the subscription to the server. */
export async function enablePush(): Promise<void> {
  if ((await Notification.requestPermission()) !== 'granted')
    throw new Error('Notifications are blocked for this site in the browser settings.');
  const { public_key } = await api.request<{ public_key: string }>('GET', '/notifications/vapid-public-key');
  const registration = await navigator.serviceWorker.ready;
  const subscription = await registration.pushManager.subscribe({
    userVisibleOnly: true,
    applicationServerKey: fromBase64Url(public_key),
  });
  await api.request<void>('POST', '/users/@me/push-subscriptions', subscription.toJSON());
}

export async function disablePush(): Promise<void> {
  const subscription = await currentSubscription();
  if (!subscription) return;
  await api.request<void>('DELETE', '/users/@me/push-subscriptions', { endpoint: subscription.endpoint });
  await subscription.unsubscribe();
}

function fromBase64Url(value: string): Uint8Array<ArrayBuffer> {
  const base64 = value.replace(/-/g, '+').replace(/_/g, '/');
  const binary = atob(base64 + '='.repeat((4 - (base64.length % 4)) % 4));
  const bytes = new Uint8Array(new ArrayBuffer(binary.length));
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}
