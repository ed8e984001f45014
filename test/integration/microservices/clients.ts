// The gateway suite's real socket.io client and REST helpers, without its in-process monolith (these tests
// talk only to processes).
export * from '../../support/clients';
