import { ConfigError, type ParleyConfig, maskCredentials, regionTableText } from '@parley/config';
import type { NatsConnection, Subscription } from '@nats-io/nats-core';
import { z } from 'zod';
import { natsJetStream } from './modules';

/** How long a starting process listens for the others' answers. */
const CENSUS_WAIT_MS = 750;

const identity = z.object({
  key: z.string().min(1).max(64),
  name: z.string().max(128),
  region: z.string().max(64),
  region_id: z.number().int(),
  node_id: z.number().int(),
  table: z.string().max(4096),
});
type Identity = z.infer<typeof identity>;

/**
 * Boot checks of a process in a multi-region deployment (`instance.regions` set), over its NATS connection:
 *
 * 1. Its NATS is its own region's: the JetStream it reaches must report the region's name as its domain. Each
 *    region runs its own JetStream (jobs, the events history) under its own domain, so this also catches a
 *    region's processes pointed at another region's NATS.
 * 2. A census of the live processes of every region (`<prefix>.region.census`, which crosses regions over the
 *    NATS gateways like events do): no other region may use this region's id or name with another id, every
 *    region must hold the same region table, and no other process of this region may hold this node id. Any
 *    of those would let two processes mint the same snowflakes, so the process refuses to start.
 *
 * The census answer stays subscribed for the life of the connection, so later processes see this one.
 */
export async function joinRegionCensus(
  nc: NatsConnection,
  config: ParleyConfig,
  prefix: string,
  self: { key: string; name: string },
): Promise<Subscription> {
  const { region, region_id, node_id, regions } = config.instance;
  let domain: string | undefined;
  try {
    domain = (
      await (
        await natsJetStream().jetstreamManager(nc, { timeout: config.nats.request_timeout })
      ).getAccountInfo()
    ).domain;
  } catch (err) {
    throw new Error(
      `nats.url (${maskCredentials(config.nats.url)}): JetStream does not answer (${(err as Error).message}); each region needs its own JetStream with domain "${region}" (docs/multi-region.md)`,
    );
  }
  if (domain !== region)
    throw new ConfigError([
      `nats.url: the JetStream at ${maskCredentials(config.nats.url)} has domain ${domain ? `"${domain}"` : '(none)'}, but instance.region is "${region}": a region's processes use their own region's NATS, whose JetStream domain is the region's name (docs/multi-region.md)`,
    ]);

  const mine: Identity = {
    key: self.key,
    name: self.name,
    region,
    region_id,
    node_id,
    table: regionTableText(regions),
  };
  const subject = `${prefix}.region.census`;
  const sub = nc.subscribe(subject, {
    callback: (err, msg) => {
      if (!err && msg.reply) msg.respond(JSON.stringify(mine));
    },
  });
  try {
    await nc.flush();
    // One line per kind of clash, naming the first process found (a big deployment may have many).
    const problems = new Map<string, { message: string; more: number }>();
    const clash = (kind: string, message: string) => {
      const seen = problems.get(kind);
      if (seen) seen.more++;
      else problems.set(kind, { message, more: 0 });
    };
    const replies = await nc.requestMany(subject, JSON.stringify(mine), {
      strategy: 'timer',
      maxWait: CENSUS_WAIT_MS,
    });
    for await (const reply of replies) {
      let other: Identity;
      try {
        other = identity.parse(JSON.parse(reply.string()));
      } catch {
        continue; // not a census answer
      }
      if (other.key === mine.key) continue;
      const who = `${other.name} (region ${other.region})`;
      if (other.region !== region && other.region_id === region_id)
        clash('taken', `instance.region_id: ${region_id} is already region ${other.region}'s (${who} runs)`);
      if (other.region === region && other.region_id !== region_id)
        clash(
          'mismatch',
          `instance.region_id: region ${region} runs with id ${other.region_id} elsewhere (${who}), not ${region_id}`,
        );
      if (other.region === region && other.node_id === node_id)
        clash(
          'node',
          `instance.node_id: ${node_id} is in use by ${who}; give each process of a region its own (or instance.claim_node_id)`,
        );
      if (other.table !== mine.table)
        clash(
          'table',
          `instance.regions: differs from ${who}'s (${other.table || 'empty'} there, ${mine.table} here); every region needs the same table`,
        );
    }
    if (problems.size > 0)
      throw new ConfigError(
        [...problems.values()].map(({ message, more }) =>
          more > 0 ? `${message} (and ${more} more process${more > 1 ? 'es' : ''})` : message,
        ),
      );
    return sub;
  } catch (err) {
    sub.unsubscribe();
    throw err;
  }
}
