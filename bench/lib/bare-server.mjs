// The fan-out baseline: a bare socket.io server on the same machine, emitting the same payload to a room.
import { createServer } from 'node:http';
import { Server } from 'socket.io';

const http = createServer((req, res) => {
  if (req.url?.startsWith('/burst')) {
    const n = Number(new URL(req.url, 'http://x').searchParams.get('n') ?? 1);
    const payload = JSON.parse(process.env.PAYLOAD ?? '{}');
    let s = 0;
    for (let i = 0; i < n; i++) io.to('room').emit('MESSAGE_CREATE', { s: ++s, d: payload });
    res.end('ok');
    return;
  }
  res.statusCode = 404;
  res.end();
});
const io = new Server(http, { transports: ['websocket'], perMessageDeflate: false });
io.on('connection', (socket) => void socket.join('room'));
http.listen(0, '127.0.0.1', () => process.send?.({ port: http.address().port }));
