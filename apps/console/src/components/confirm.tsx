import * as AlertDialog from '@radix-ui/react-alert-dialog';
import { useState, type ReactNode } from 'react';
import { errorMessage } from './ui';

/**
 * Every destructive or bulk action goes through this: the dialog states the count and the
 * consequence, focus stays inside it, Escape cancels (Radix AlertDialog).
 */
export function ConfirmButton(props: {
  label: ReactNode;
  title: string;
  /** What will happen, with the count. */
  description: ReactNode;
  confirmLabel: string;
  onConfirm: () => Promise<unknown>;
  destructive?: boolean;
  disabled?: boolean;
  className?: string;
}) {
  const [open, setOpen] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  return (
    <AlertDialog.Root open={open} onOpenChange={(next) => (setOpen(next), setError(null))}>
      <AlertDialog.Trigger asChild>
        <button type="button" className={props.className ?? (props.destructive ? 'danger' : 'secondary')} disabled={props.disabled}>
          {props.label}
        </button>
      </AlertDialog.Trigger>
      <AlertDialog.Portal>
        <AlertDialog.Overlay className="overlay" />
        <AlertDialog.Content className="dialog">
          <AlertDialog.Title>{props.title}</AlertDialog.Title>
          <AlertDialog.Description asChild>
            <div className="dialog-description">{props.description}</div>
          </AlertDialog.Description>
          {error && (
            <p className="error" role="alert">
              {error}
            </p>
          )}
          <div className="dialog-actions">
            <AlertDialog.Cancel asChild>
              <button type="button" className="secondary">
                Cancel
              </button>
            </AlertDialog.Cancel>
            <button
              type="button"
              className={props.destructive ? 'danger' : 'primary'}
              disabled={busy}
              onClick={async () => {
                setBusy(true);
                try {
                  await props.onConfirm();
                  setOpen(false);
                } catch (err) {
                  setError(errorMessage(err));
                } finally {
                  setBusy(false);
                }
              }}
            >
              {busy ? 'Working…' : props.confirmLabel}
            </button>
          </div>
        </AlertDialog.Content>
      </AlertDialog.Portal>
    </AlertDialog.Root>
  );
}
