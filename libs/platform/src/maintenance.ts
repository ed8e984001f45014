import {
  type CanActivate,
  type ExecutionContext,
  Inject,
  Injectable,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { ReadOnlyError } from '@parley/common';
import { PARLEY_CONFIG, type ParleyConfig } from '@parley/config';
import { AppLogger } from '@parley/observability';
import { STORAGE, type SettingsRepository, type Storage } from '@parley/storage';

/** The instance_settings key of the maintenance flag, shared by every process on the database. */
export const READ_ONLY_SETTING = 'read_only';
/** How often each process reads the flag: switching takes effect everywhere within about this long. */
export const READ_ONLY_POLL_MS = 1000;

export interface MaintenanceState {
  enabled: boolean;
  /** When it was switched on (epoch ms). */
  since: number | null;
  /** What the operator said, for the logs and `parley maintenance status`. */
  message: string | null;
}

export async function readMaintenance(settings: SettingsRepository): Promise<MaintenanceState> {
  const raw = await settings.get(READ_ONLY_SETTING);
  if (raw === null) return { enabled: false, since: null, message: null };
  const parsed = JSON.parse(raw) as Partial<MaintenanceState>;
  return { enabled: parsed.enabled === true, since: parsed.since ?? null, message: parsed.message ?? null };
}

export async function writeMaintenance(settings: SettingsRepository, state: MaintenanceState): Promise<void> {
  await settings.put(READ_ONLY_SETTING, JSON.stringify(state));
}

/**
 * Maintenance (read-only) mode: on when `instance.read_only` is set in the configuration (for the life
 * of the process) or when the flag in the database is on (`npx parley maintenance on`), which every
 * process reads once a second, so several processes on one database switch together without a restart.
 * While on, HTTP writes answer 503 (ReadOnlyGuard) and durable jobs are not claimed, so the database
 * sees no writes from this process; reads go on. If the database cannot be read, the last known state
 * stays.
 */
@Injectable()
export class MaintenanceMode implements OnApplicationBootstrap, OnApplicationShutdown {
  private flag = false;
  private timer: NodeJS.Timeout | null = null;
  private polling: Promise<void> | null = null;
  private failing = false;

  constructor(
    @Inject(STORAGE) private readonly storage: Storage,
    @Inject(PARLEY_CONFIG) private readonly config: ParleyConfig,
    private readonly log: AppLogger,
  ) {
    // Job leases, retries and completions are writes: hold the queue while read-only.
    const jobs = storage.jobs;
    const claim = jobs.claim.bind(jobs);
    jobs.claim = (now, limit, leaseMs) => (this.readOnly ? Promise.resolve([]) : claim(now, limit, leaseMs));
  }

  get readOnly(): boolean {
    return this.config.instance.read_only || this.flag;
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.poll();
    this.timer = setInterval(() => {
      this.polling ??= this.poll().finally(() => (this.polling = null));
    }, READ_ONLY_POLL_MS);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.polling;
  }

  private async poll(): Promise<void> {
    try {
      const state = await readMaintenance(this.storage.instanceSettings);
      if (this.failing) this.log.info('maintenance flag readable again');
      this.failing = false;
      if (state.enabled !== this.flag) {
        this.flag = state.enabled;
        if (state.enabled)
          this.log.warn(
            { since: state.since, message: state.message },
            'maintenance mode on: writes answer 503',
          );
        else this.log.warn('maintenance mode off: writes accepted');
      }
    } catch (err) {
      if (!this.failing)
        this.log.warn({ err }, 'cannot read the maintenance flag; keeping the last known state');
      this.failing = true;
    }
  }
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Registered as a global guard: refuses every unsafe HTTP method with 503 while read-only. */
@Injectable()
export class ReadOnlyGuard implements CanActivate {
  constructor(private readonly maintenance: MaintenanceMode) {}

  canActivate(context: ExecutionContext): boolean {
    if (context.getType() !== 'http' || !this.maintenance.readOnly) return true;
    const { method } = context.switchToHttp().getRequest<{ method: string }>();
    if (SAFE_METHODS.has(method)) return true;
    throw new ReadOnlyError();
  }
}
