import { Decoder, PacketType } from 'socket.io-parser';

/**
 * Stands in for the auth of a CONNECT packet that was not a JSON object (a string, an array, broken JSON):
 * the handshake refuses it with a `connect_error` (4002) instead of the parser closing the transport silently.
 */
export const MALFORMED_AUTH: Readonly<Record<string, never>> = Object.freeze({});

// A CONNECT packet: type 0, then an optional "/namespace," before its JSON.
const CONNECT_PACKET = /^0(?:(\/[^,]*),)?/;

/** socket.io's decoder, except that a CONNECT with a malformed payload still reaches the handshake. */
export class HandshakeDecoder extends Decoder {
  override add(obj: unknown): void {
    try {
      super.add(obj);
    } catch (err) {
      const connect = typeof obj === 'string' ? CONNECT_PACKET.exec(obj) : null;
      if (!connect) throw err;
      this.emitReserved('decoded', {
        type: PacketType.CONNECT,
        nsp: connect[1] ?? '/',
        data: MALFORMED_AUTH,
      });
    }
  }
}
