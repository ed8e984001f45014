/** The processes microservices mode splits Parley into; each entry point names one. */
export const ROLES = ['api', 'gateway', 'media-proxy', 'queue'] as const;
export type Role = (typeof ROLES)[number];

export function isRole(name: string): name is Role {
  return (ROLES as readonly string[]).includes(name);
}

/** What each role needs from the infrastructure. */
export const ROLE_NEEDS: Record<Role, { nats: boolean; redis: boolean; consumeJobs: boolean }> = {
  api: { nats: true, redis: true, consumeJobs: false },
  gateway: { nats: true, redis: true, consumeJobs: false },
  // Redis: the notification jobs ask the presence store who has no live session.
  queue: { nats: true, redis: true, consumeJobs: true },
  'media-proxy': { nats: false, redis: true, consumeJobs: false },
};
