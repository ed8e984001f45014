// Serialise-once vs per-recipient encoding of one dispatch fanned out to many sessions.
// Run: node libs/realtime/bench/frame-encoding.bench.ts [recipients] [rounds]   (Node strips the types)
// "emit" is what socket.emit(type, {s, d}) costs per recipient (socket.io-parser: a binary scan of the
// payload plus JSON.stringify of the whole object); "concat" is what the gateway does: JSON.stringify(d) once
// per event, then a string concatenation per recipient (the frame format of libs/realtime/src/protocol.ts).
// Both sides include Buffer.byteLength of each frame: the flattening and UTF-8 pass the socket write needs anyway.
import { Encoder, PacketType } from 'socket.io-parser';

const recipients = Number(process.argv[2] ?? 1000);
const rounds = Number(process.argv[3] ?? 200);
const author = { id: '1234567890123456789', username: 'someone', display_name: 'Some One', avatar: null };
const message = {
  id: '1234567890123456790',
  channel_id: '1234567890123456791',
  guild_id: '1234567890123456792',
  author,
  content: 'A message of ordinary length, with a mention <@1234567890123456789> and some words. '.repeat(3),
  timestamp: new Date().toISOString(),
  edited_timestamp: null,
  attachments: [],
  mentions: [author],
  mention_everyone: false,
  pinned: false,
  type: 0,
};

function emitStyle(): number {
  const encoder = new Encoder();
  let bytes = 0;
  for (let s = 0; s < recipients; s++) {
    const packets: unknown[] = encoder.encode({
      type: PacketType.EVENT,
      nsp: '/',
      data: ['MESSAGE_CREATE', { s, d: message }],
    });
    bytes += Buffer.byteLength(packets[0] as string);
  }
  return bytes;
}

function concatStyle(): number {
  const d = JSON.stringify(message);
  let bytes = 0;
  for (let s = 0; s < recipients; s++) {
    const frame = `2["MESSAGE_CREATE",{"s":${s},"d":${d}}]`;
    bytes += Buffer.byteLength(frame);
  }
  return bytes;
}

function measure(fn: () => number): number {
  for (let i = 0; i < 20; i++) fn(); // warm up
  const samples: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const start = process.hrtime.bigint();
    fn();
    samples.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  samples.sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)];
}

if (emitStyle() !== concatStyle()) throw new Error('the two encodings differ in size');
const emit = measure(emitStyle);
const concat = measure(concatStyle);
const perSecond = (ms: number) => Math.round((recipients / ms) * 1000).toLocaleString('en');
process.stdout.write(
  `${recipients} recipients, ${JSON.stringify(message).length}-byte message, median of ${rounds} rounds\n` +
    `  per-recipient encode (socket.emit): ${emit.toFixed(3)} ms per event (${perSecond(emit)} frames/s)\n` +
    `  serialise once + concat (gateway): ${concat.toFixed(3)} ms per event (${perSecond(concat)} frames/s)\n` +
    `  speed-up: ${(emit / concat).toFixed(1)}x\n`,
);
