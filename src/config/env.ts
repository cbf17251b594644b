/**
 * Typed readers for environment variables. Each reader records a problem
 * instead of throwing, so one start-up reports every bad value at once.
 */
export type Env = Readonly<Record<string, string | undefined>>;

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

export class EnvReader {
  readonly problems: string[] = [];

  constructor(private readonly env: Env) {}

  string(name: string, fallback: string): string {
    const raw = this.raw(name);
    return raw ?? fallback;
  }

  optionalString(name: string): string | undefined {
    return this.raw(name);
  }

  /** A value that has no sensible default here; `why` says when and why it is needed. */
  requiredString(name: string, why: string): string {
    const raw = this.raw(name);
    if (raw === undefined) this.problems.push(`${name} is required ${why}`);
    return raw ?? '';
  }

  /** Unset means "not wanted"; a set value is checked like `int`. */
  optionalInt(name: string, min: number, max: number): number | undefined {
    return this.raw(name) === undefined ? undefined : this.int(name, min, min, max);
  }

  int(name: string, fallback: number, min: number, max: number): number {
    const raw = this.raw(name);
    if (raw === undefined) return fallback;
    if (!/^-?\d+$/.test(raw)) {
      this.problems.push(`${name}=${JSON.stringify(raw)} is not an integer`);
      return fallback;
    }
    const value = Number(raw);
    if (value < min || value > max) {
      this.problems.push(`${name}=${raw} is out of range [${min}, ${max}]`);
      return fallback;
    }
    return value;
  }

  number(name: string, fallback: number, min: number, max: number): number {
    const raw = this.raw(name);
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!/^-?\d+(\.\d+)?$/.test(raw) || !Number.isFinite(value)) {
      this.problems.push(`${name}=${JSON.stringify(raw)} is not a number`);
      return fallback;
    }
    if (value < min || value > max) {
      this.problems.push(`${name}=${raw} is out of range [${min}, ${max}]`);
      return fallback;
    }
    return value;
  }

  oneOf<T extends string>(name: string, allowed: readonly T[], fallback: T): T {
    const raw = this.raw(name);
    if (raw === undefined) return fallback;
    if (!(allowed as readonly string[]).includes(raw)) {
      this.problems.push(`${name}=${JSON.stringify(raw)} must be one of: ${allowed.join(', ')}`);
      return fallback;
    }
    return raw as T;
  }

  /** Fails with all collected problems, if any. */
  check(): void {
    if (this.problems.length > 0) throw new ConfigError(this.problems);
  }

  /** Unset and empty are the same: a blank line in a secrets file means "use the default". */
  private raw(name: string): string | undefined {
    const value = this.env[name];
    return value === undefined || value.trim() === '' ? undefined : value.trim();
  }
}
