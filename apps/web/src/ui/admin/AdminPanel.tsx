import { type FormEvent, useCallback, useEffect, useState } from 'react';
import { api } from '../../actions';
import type { AdminAuditEntry, AdminGuild, AdminStats, AdminUser } from '../../api';
import { Dialog, errorText } from '../Dialog';

type Tab = 'users' | 'guilds' | 'registrations' | 'audit' | 'stats';

const TABS: [Tab, string][] = [
  ['users', 'Users'],
  ['guilds', 'Guilds'],
  ['registrations', 'Registrations'],
  ['audit', 'Audit log'],
  ['stats', 'Stats'],
];

/** Whether the signed-in account administers the instance (asked once; the admin routes answer 403 otherwise). */
export function useInstanceAdmin(userId: string | null): boolean {
  const [admin, setAdmin] = useState(false);
  useEffect(() => {
    let live = true;
    setAdmin(false);
    if (userId)
      api.adminStats().then(
        () => live && setAdmin(true),
        () => undefined,
      );
    return () => {
      live = false;
    };
  }, [userId]);
  return admin;
}

/** The instance admin panel: accounts, guilds, registrations waiting, the instance audit log, the counters. */
export function AdminPanel({ onClose }: { onClose: () => void }) {
  const [tab, setTab] = useState<Tab>('users');
  const [error, setError] = useState<string | null>(null);
  const fail = useCallback((err: unknown) => setError(errorText(err)), []);
  return (
    <Dialog title="Instance admin" onClose={onClose} wide>
      <div role="tablist" aria-label="Instance admin" className="admin-tabs">
        {TABS.map(([id, label]) => (
          <button
            key={id}
            type="button"
            role="tab"
            aria-selected={tab === id}
            onClick={() => {
              setError(null);
              setTab(id);
            }}
          >
            {label}
          </button>
        ))}
      </div>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      <div role="tabpanel">
        {tab === 'users' && <UsersTab onError={fail} />}
        {tab === 'guilds' && <GuildsTab onError={fail} />}
        {tab === 'registrations' && <RegistrationsTab onError={fail} />}
        {tab === 'audit' && <AuditTab onError={fail} />}
        {tab === 'stats' && <StatsTab onError={fail} />}
      </div>
      <div className="dialog-actions">
        <button type="button" onClick={onClose}>
          Close
        </button>
      </div>
    </Dialog>
  );
}

function SearchForm({ label, onSearch }: { label: string; onSearch: (query: string) => void }) {
  const [query, setQuery] = useState('');
  const submit = (e: FormEvent) => {
    e.preventDefault();
    onSearch(query.trim());
  };
  return (
    <form className="admin-search" onSubmit={submit}>
      <input
        aria-label={label}
        placeholder={label}
        value={query}
        onChange={(e) => setQuery(e.target.value)}
      />
      <button type="submit">Search</button>
    </form>
  );
}

function UsersTab({ onError }: { onError: (err: unknown) => void }) {
  const [query, setQuery] = useState('');
  const [users, setUsers] = useState<AdminUser[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const load = useCallback(
    (q: string, before: string | null = null) =>
      api.adminUsers(q, before).then((page) => {
        setUsers((shown) => (before ? [...shown, ...page.items] : page.items));
        setCursor(page.cursor);
      }, onError),
    [onError],
  );
  useEffect(() => void load(''), [load]);
  const replace = (user: AdminUser) => setUsers((shown) => shown.map((u) => (u.id === user.id ? user : u)));
  return (
    <section aria-label="Users">
      <SearchForm
        label="Search users by username or email"
        onSearch={(q) => {
          setQuery(q);
          void load(q);
        }}
      />
      <ul className="admin-list">
        {users.map((u) => (
          <li key={u.id} aria-label={u.username}>
            <span>
              <strong>{u.username}</strong> {u.email}
              {u.admin && ' · admin'}
              {u.disabled && ' · disabled'}
              {u.pending_approval && ' · waiting for approval'}
            </span>
            <button
              type="button"
              onClick={() => void api.adminSetDisabled(u.id, !u.disabled).then(replace, onError)}
            >
              {u.disabled ? 'Enable' : 'Disable'}
            </button>
            <button
              type="button"
              className="danger"
              onClick={() => {
                if (window.confirm(`Delete the account ${u.username}? This cannot be undone.`))
                  void api
                    .adminDeleteUser(u.id)
                    .then(() => setUsers((shown) => shown.filter((x) => x.id !== u.id)), onError);
              }}
            >
              Delete
            </button>
          </li>
        ))}
      </ul>
      {users.length === 0 && <p>No accounts found.</p>}
      {cursor && (
        <button type="button" onClick={() => void load(query, cursor)}>
          More
        </button>
      )}
    </section>
  );
}

function GuildsTab({ onError }: { onError: (err: unknown) => void }) {
  const [query, setQuery] = useState('');
  const [guilds, setGuilds] = useState<AdminGuild[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const load = useCallback(
    (q: string, before: string | null = null) =>
      api.adminGuilds(q, before).then((page) => {
        setGuilds((shown) => (before ? [...shown, ...page.items] : page.items));
        setCursor(page.cursor);
      }, onError),
    [onError],
  );
  useEffect(() => void load(''), [load]);
  return (
    <section aria-label="Guilds">
      <SearchForm
        label="Search guilds by name"
        onSearch={(q) => {
          setQuery(q);
          void load(q);
        }}
      />
      <ul className="admin-list">
        {guilds.map((g) => (
          <li key={g.id} aria-label={g.name}>
            <span>
              <strong>{g.name}</strong> created {new Date(g.created_at).toLocaleDateString()}
            </span>
            <button
              type="button"
              className="danger"
              onClick={() => {
                if (window.confirm(`Delete the guild ${g.name} with all its channels and messages?`))
                  void api
                    .adminDeleteGuild(g.id)
                    .then(() => setGuilds((shown) => shown.filter((x) => x.id !== g.id)), onError);
              }}
            >
              Delete
            </button>
          </li>
        ))}
      </ul>
      {guilds.length === 0 && <p>No guilds found.</p>}
      {cursor && (
        <button type="button" onClick={() => void load(query, cursor)}>
          More
        </button>
      )}
    </section>
  );
}

function RegistrationsTab({ onError }: { onError: (err: unknown) => void }) {
  const [waiting, setWaiting] = useState<AdminUser[] | null>(null);
  const load = useCallback(() => void api.adminRegistrations().then(setWaiting, onError), [onError]);
  useEffect(load, [load]);
  const decide = (id: string, decision: 'approve' | 'reject') =>
    void api.adminDecide(id, decision).then(load, onError);
  return (
    <section aria-label="Registrations">
      <ul className="admin-list">
        {(waiting ?? []).map((u) => (
          <li key={u.id} aria-label={u.username}>
            <span>
              <strong>{u.username}</strong> {u.email} registered {new Date(u.created_at).toLocaleString()}
            </span>
            <button type="button" onClick={() => decide(u.id, 'approve')}>
              Approve
            </button>
            <button type="button" className="danger" onClick={() => decide(u.id, 'reject')}>
              Reject
            </button>
          </li>
        ))}
      </ul>
      {waiting?.length === 0 && <p>No registrations are waiting.</p>}
    </section>
  );
}

function AuditTab({ onError }: { onError: (err: unknown) => void }) {
  const [entries, setEntries] = useState<AdminAuditEntry[]>([]);
  useEffect(() => void api.adminAuditLog().then(setEntries, onError), [onError]);
  return (
    <section aria-label="Audit log">
      <ul className="admin-list">
        {entries.map((e) => (
          <li key={e.id}>
            <span>
              {new Date(e.created_at).toLocaleString()}: <strong>{e.action}</strong> {e.target_type}{' '}
              {e.target_id} by {e.actor_id}
              {e.reason ? ` (${e.reason})` : ''}
            </span>
          </li>
        ))}
      </ul>
      {entries.length === 0 && <p>No admin actions yet.</p>}
    </section>
  );
}

function StatsTab({ onError }: { onError: (err: unknown) => void }) {
  const [stats, setStats] = useState<AdminStats | null>(null);
  useEffect(() => void api.adminStats().then(setStats, onError), [onError]);
  if (!stats) return null;
  return (
    <dl className="admin-stats" aria-label="Stats">
      <dt>Users</dt>
      <dd>{stats.users}</dd>
      <dt>Guilds</dt>
      <dd>{stats.guilds}</dd>
      <dt>Messages</dt>
      <dd>{stats.messages}</dd>
      <dt>Messages today</dt>
      <dd>{stats.messages_today}</dd>
    </dl>
  );
}
