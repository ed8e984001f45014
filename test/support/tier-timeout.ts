// The test timeout of the Jest project (tier) this file runs in: jest.config.js gives each tier its own.
const timeoutMs = (globalThis as { PARLEY_TIER_TIMEOUT_MS?: unknown }).PARLEY_TIER_TIMEOUT_MS;
if (typeof timeoutMs === 'number') jest.setTimeout(timeoutMs);
