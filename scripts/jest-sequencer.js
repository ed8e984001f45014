// Jest's own order (failed first, then slowest first), except that the suites which stop and restart nodes of
// the shared Cassandra cluster run after every other suite: a node that comes back can keep a schema of its own
// for a while and miss the keyspaces created meanwhile, which failed the next suites' migrations ("Keyspace ...
// does not exist"). The two-region stage that follows starts its cluster afresh.
const Sequencer = require('@jest/test-sequencer').default;

const RESTARTS_NODES = [/test\/integration\/cassandra\/multi-dc\.test\.ts$/];

class LastIfRestartingNodes extends Sequencer {
  sort(tests) {
    const ordered = super.sort(tests);
    const restarts = (test) => RESTARTS_NODES.some((pattern) => pattern.test(test.path.replace(/\\/g, '/')));
    return [...ordered.filter((test) => !restarts(test)), ...ordered.filter(restarts)];
  }
}

module.exports = LastIfRestartingNodes;
