import { readSpeculation } from './session';

describe('readSpeculation', () => {
  const executions = (query: string | object[]) => {
    const plan = readSpeculation(80).newPlan('parley', query);
    return [plan.nextExecution(), plan.nextExecution()];
  };

  it('sends a slow SELECT to one more replica after the delay', () => {
    expect(executions('SELECT id FROM messages WHERE channel_id = ? AND bucket = ?')).toEqual([80, -1]);
    expect(executions('  select * from users where id = ?')).toEqual([80, -1]);
  });

  it('never sends a write, a lightweight transaction or a batch twice', () => {
    expect(executions('INSERT INTO messages (channel_id, bucket, id) VALUES (?, ?, ?)')).toEqual([-1, -1]);
    expect(executions('UPDATE users SET username = ? WHERE id = ? IF EXISTS')).toEqual([-1, -1]);
    expect(executions('DELETE FROM pins WHERE channel_id = ?')).toEqual([-1, -1]);
    expect(executions([{ query: 'SELECT 1' }])).toEqual([-1, -1]);
  });
});
