import { useState, type ReactNode } from 'react';
import { HeraldApiError } from '@herald/sdk';
import { localTime, utcTime } from '../lib/format';

/** Local time, with the UTC time on hover (and to assistive technology through the title). */
export function Time({ iso, fallback = '—' }: { iso: string | null | undefined; fallback?: string }) {
  if (!iso) return <span>{fallback}</span>;
  return (
    <time dateTime={iso} title={utcTime(iso)}>
      {localTime(iso)}
    </time>
  );
}

const STATUS_TONE: Record<string, string> = {
  succeeded: 'good',
  active: 'good',
  delivered: 'good',
  pending: 'neutral',
  delivering: 'info',
  failed: 'bad',
  dead: 'bad',
  disabled: 'warn',
  rejected: 'bad',
  retryable: 'warn',
  rate_limited: 'warn',
};

export function Badge({ value, label }: { value: string; label?: string }) {
  return <span className={`badge badge-${STATUS_TONE[value] ?? 'neutral'}`}>{label ?? value}</span>;
}

export function errorMessage(error: unknown): string {
  if (error instanceof HeraldApiError) return `${error.status}: ${error.message}`;
  return error instanceof Error ? error.message : String(error);
}

/**
 * The row a table shows instead of data: loading, error (with a retry), empty (with what to do)
 * or no match for the filters (with a way to clear them). Null when there are rows to show.
 */
export function TableState(props: {
  columns: number;
  loading: boolean;
  error: unknown;
  rows: number;
  filtered?: boolean;
  what: string;
  empty?: ReactNode;
  onRetry?: () => void;
  onClearFilters?: () => void;
}) {
  let content: ReactNode = null;
  if (props.loading) content = <span role="status">Loading {props.what}…</span>;
  else if (props.error)
    content = (
      <span role="alert">
        Could not load {props.what}: {errorMessage(props.error)}{' '}
        {props.onRetry && (
          <button type="button" className="link" onClick={props.onRetry}>
            Try again
          </button>
        )}
      </span>
    );
  else if (props.rows === 0 && props.filtered)
    content = (
      <span>
        No {props.what} match these filters.{' '}
        {props.onClearFilters && (
          <button type="button" className="link" onClick={props.onClearFilters}>
            Clear filters
          </button>
        )}
      </span>
    );
  else if (props.rows === 0) content = <span>{props.empty ?? `No ${props.what} yet.`}</span>;
  if (!content) return null;
  return (
    <tr className="table-state">
      <td colSpan={props.columns}>{content}</td>
    </tr>
  );
}

/** A labelled form control with its error (from the form's own checks or from a 400's details). */
export function Field(props: { id: string; label: string; hint?: ReactNode; error?: string; children: ReactNode }) {
  return (
    <div className={`field${props.error ? ' field-invalid' : ''}`}>
      <label htmlFor={props.id}>{props.label}</label>
      {props.children}
      {props.hint && (
        <div className="hint" id={`${props.id}-hint`}>
          {props.hint}
        </div>
      )}
      {props.error && (
        <div className="error" id={`${props.id}-error`} role="alert">
          {props.error}
        </div>
      )}
    </div>
  );
}

/** aria-* for an input rendered inside Field. */
export function described(id: string, error?: string, hint?: boolean) {
  const ids = [hint ? `${id}-hint` : null, error ? `${id}-error` : null].filter(Boolean).join(' ');
  return { id, 'aria-invalid': error ? true : undefined, 'aria-describedby': ids || undefined };
}

export function CopyButton({ text, label = 'Copy' }: { text: string; label?: string }) {
  const [copied, setCopied] = useState(false);
  return (
    <button
      type="button"
      className="secondary small"
      onClick={() => {
        navigator.clipboard?.writeText(text).then(
          () => {
            setCopied(true);
            setTimeout(() => setCopied(false), 1500);
          },
          () => setCopied(false),
        );
      }}
    >
      {copied ? 'Copied' : label}
    </button>
  );
}

/** A value shown once (a secret, a key): copy it now, it will not be shown again. */
export function OnceValue({ label, value, children }: { label: string; value: string; children?: ReactNode }) {
  return (
    <div className="once" role="region" aria-label={label}>
      <p>
        <strong>{label}</strong> — copy it now: Herald keeps only {children ?? 'a hash'}, and will not show it again.
      </p>
      <div className="once-value">
        <code data-testid="once-value">{value}</code>
        <CopyButton text={value} />
      </div>
    </div>
  );
}

export function PageHeader({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <div className="page-header">
      <h1>{title}</h1>
      <div className="actions">{children}</div>
    </div>
  );
}

export function Reason({ children }: { children: ReactNode }) {
  return <p className="reason">{children}</p>;
}
