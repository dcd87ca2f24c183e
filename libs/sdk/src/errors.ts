/** One field a 400 names (docs/contract.md §3.2: a validation error names every offending field). */
export interface FieldProblem {
  field: string;
  message: string;
}

/** An error answer of the API: `{statusCode, error, message, details?}`, plus Retry-After when sent. */
export class HeraldApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly details: FieldProblem[] = [],
    /** Seconds, from Retry-After (429 and 503 carry it). */
    readonly retryAfterSeconds: number | null = null,
  ) {
    super(message);
    this.name = 'HeraldApiError';
  }

  /** The messages for one field, e.g. to show under a form input. */
  forField(field: string): string[] {
    return this.details.filter((d) => d.field === field || d.field.startsWith(`${field}.`)).map((d) => d.message);
  }

  static async from(response: Response, body?: unknown): Promise<HeraldApiError> {
    let parsed = body;
    if (parsed === undefined) {
      const text = await response.text().catch(() => '');
      try {
        parsed = text ? JSON.parse(text) : undefined;
      } catch {
        parsed = text;
      }
    }
    const b = (parsed && typeof parsed === 'object' ? parsed : {}) as { message?: unknown; details?: unknown };
    const message = typeof b.message === 'string' ? b.message : typeof parsed === 'string' && parsed ? parsed : `${response.status} ${response.statusText}`;
    const details = Array.isArray(b.details) ? (b.details as FieldProblem[]).filter((d) => d && typeof d.field === 'string') : [];
    return new HeraldApiError(response.status, message, details, retryAfter(response.headers.get('retry-after')));
  }
}

/** Retry-After as seconds: either a number of seconds or an HTTP date. */
export function retryAfter(value: string | null, now = Date.now()): number | null {
  if (!value) return null;
  if (/^\d+$/.test(value.trim())) return Number(value.trim());
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, Math.ceil((at - now) / 1000));
}
