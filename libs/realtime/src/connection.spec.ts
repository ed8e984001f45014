import { EventEmitter } from 'node:events';
import type { Socket } from 'socket.io';
import { Connection } from './connection';

/** Just enough of an engine.io socket: writes wait in writeBuffer while the transport is not writable. */
class FakeEngine extends EventEmitter {
  readyState = 'open';
  writeBuffer: string[] = [];
  sent: string[] = [];
  transport = { writable: true };

  write(data: string): void {
    if (this.readyState !== 'open') return;
    this.writeBuffer.push(data);
    this.flush();
  }

  /** The kernel took the last flush: the transport may write again. */
  accept(): void {
    this.transport.writable = true;
    this.flush();
  }

  close(): void {
    this.readyState = 'closed';
    this.emit('close');
  }

  private flush(): void {
    if (!this.transport.writable || this.writeBuffer.length === 0) return;
    this.emit('flush', this.writeBuffer);
    this.sent.push(...this.writeBuffer);
    this.writeBuffer = [];
    this.transport.writable = false;
    this.emit('drain');
  }
}

function setup(limit: number, extra: { coalesceMs?: number; batch?: boolean } = {}) {
  const engine = new FakeEngine();
  const socket = { conn: engine, disconnect: jest.fn() } as unknown as Socket;
  const overflow = jest.fn();
  const conn = new Connection(
    socket,
    { limit, coalesceMs: extra.coalesceMs ?? 0, batch: extra.batch ?? false, closeGraceMs: 1000 },
    overflow,
  );
  return { engine, socket, conn, overflow };
}

const entry = (s: number) => ({ s, t: 'MESSAGE_CREATE', d: `{"n":${s}}` });

describe('Connection', () => {
  it('keeps up with a reader without ever counting it slow', () => {
    const { engine, conn, overflow } = setup(10);
    for (let s = 1; s <= 1000; s++) {
      conn.send(entry(s));
      engine.accept();
    }
    expect(overflow).not.toHaveBeenCalled();
    expect(engine.sent).toHaveLength(1000);
    expect(engine.sent[0]).toBe('2["MESSAGE_CREATE",{"s":1,"d":{"n":1}}]');
  });

  it('absorbs a burst as long as the socket drains, and hands engine.io at most a window at a time', () => {
    const { engine, conn, overflow } = setup(10);
    for (let s = 1; s <= 8; s++) conn.send(entry(s));
    expect(engine.writeBuffer.length).toBeLessThanOrEqual(conn.window);
    while (engine.writeBuffer.length > 0) engine.accept();
    expect(engine.sent).toHaveLength(8);
    expect(overflow).not.toHaveBeenCalled();
  });

  it('reports a socket whose frames back up past the limit, and never holds more', () => {
    const { conn, overflow } = setup(10);
    let s = 0;
    while (overflow.mock.calls.length === 0 && s < 100) conn.send(entry(++s));
    expect(overflow).toHaveBeenCalledTimes(1);
    expect(conn.highWater).toBe(11);
  });

  it('paces a replay out without counting it against the limit', () => {
    const { engine, conn, overflow } = setup(10);
    conn.sendBacklog(Array.from({ length: 500 }, (_, i) => entry(i + 1)));
    conn.send(entry(501));
    expect(overflow).not.toHaveBeenCalled();
    while (engine.writeBuffer.length > 0) engine.accept();
    expect(engine.sent).toHaveLength(501);
    expect(engine.sent.at(-1)).toContain('"s":501');
  });

  it('coalesces dispatches into BATCH frames for clients that asked', () => {
    jest.useFakeTimers();
    const { engine, conn } = setup(100, { coalesceMs: 5, batch: true });
    for (let s = 1; s <= 3; s++) conn.send(entry(s));
    expect(engine.sent).toEqual([]);
    jest.advanceTimersByTime(5);
    jest.useRealTimers();
    expect(engine.sent).toEqual([
      '2["BATCH",[{"t":"MESSAGE_CREATE","s":1,"d":{"n":1}},{"t":"MESSAGE_CREATE","s":2,"d":{"n":2}},{"t":"MESSAGE_CREATE","s":3,"d":{"n":3}}]]',
    ]);
  });

  it('drops what is queued on close, sends CLOSE and ends the transport', () => {
    const { engine, conn } = setup(10);
    for (let s = 1; s <= 8; s++) conn.send(entry(s));
    const closeSpy = jest.spyOn(engine, 'close');
    conn.close({ code: 4010, reason: 'slow_consumer', resumable: true, reconnect: true });
    expect(engine.writeBuffer.at(-1)).toBe(
      '2["CLOSE",{"code":4010,"reason":"slow_consumer","resumable":true,"reconnect":true}]',
    );
    expect(closeSpy).toHaveBeenCalled();
    expect(conn.send(entry(9))).toBe(false);
  });
});
