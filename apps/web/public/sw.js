// Parley's service worker (served at /sw.js so its scope is the whole app). It shows Web Push notifications
// (the payload the queue role encrypts: channel_id, guild_id, message_id, title, body) and opens the channel on
// a click. It caches nothing: the app works online only, as before.

self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));

self.addEventListener('push', (event) => {
  let data = {};
  try {
    data = event.data ? event.data.json() : {};
  } catch {
    data = { body: event.data ? event.data.text() : '' };
  }
  const url = data.channel_id ? `/channels/${data.guild_id || '@me'}/${data.channel_id}` : '/';
  event.waitUntil(
    self.registration.showNotification(data.title || 'Parley', {
      body: data.body || '',
      // One notification per channel: a newer push replaces the older one.
      tag: data.channel_id || 'parley',
      icon: '/favicon.svg',
      data: { url },
    }),
  );
});

self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  const url = (event.notification.data && event.notification.data.url) || '/';
  event.waitUntil(
    (async () => {
      const windows = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
      const open = windows.find((w) => new URL(w.url).origin === self.location.origin);
      if (open) {
        await open.focus();
        // The app navigates itself (no reload): see apps/web/src/push.ts.
        open.postMessage({ type: 'parley:open', url });
        return;
      }
      await self.clients.openWindow(url);
    })(),
  );
});
