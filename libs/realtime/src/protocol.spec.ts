import { Decoder, Encoder, PacketType } from 'socket.io-parser';
import { batchFrame, dispatchFrame, eventFrame, serialise } from './protocol';

function decode(frame: string): unknown {
  const decoder = new Decoder();
  let packet: unknown;
  decoder.on('decoded', (p: unknown) => (packet = p));
  decoder.add(frame);
  return packet;
}

describe('gateway frames', () => {
  const data = {
    id: '1',
    content: 'quote " backslash \\ unicode é 👍 </script>',
    nested: { list: [1, null, true] },
  };

  it('builds exactly the packet socket.io would encode for emit(type, {s, d})', () => {
    const frame = dispatchFrame({ s: 42, t: 'MESSAGE_CREATE', d: serialise(data) });
    const [expected] = new Encoder().encode({
      type: PacketType.EVENT,
      nsp: '/',
      data: ['MESSAGE_CREATE', { s: 42, d: data }],
    });
    expect(frame).toBe(expected);
    expect(decode(frame)).toEqual({
      type: PacketType.EVENT,
      nsp: '/',
      data: ['MESSAGE_CREATE', { s: 42, d: data }],
    });
  });

  it('builds BATCH frames that decode to the dispatches in order', () => {
    const frame = batchFrame([
      { s: 1, t: 'READY', d: '{}' },
      { s: 2, t: 'MESSAGE_CREATE', d: serialise(data) },
    ]);
    expect(decode(frame)).toEqual({
      type: PacketType.EVENT,
      nsp: '/',
      data: [
        'BATCH',
        [
          { t: 'READY', s: 1, d: {} },
          { t: 'MESSAGE_CREATE', s: 2, d: data },
        ],
      ],
    });
  });

  it('builds plain events and serialises undefined as null', () => {
    expect(decode(eventFrame('ERROR', { code: 4001, message: 'x' }))).toMatchObject({
      data: ['ERROR', { code: 4001, message: 'x' }],
    });
    expect(serialise(undefined)).toBe('null');
  });
});
