import * as Dialog from '@radix-ui/react-dialog';
import { useState } from 'react';
import { DialogFormButtons } from './dialog';
import { applyServerErrors } from './server-errors';
import { described, Field } from './ui';

/** A small dialog that renames one thing (a project, a connection); the 400's message lands on the field. */
export function RenameButton({
  id,
  title,
  description,
  current,
  maxLength,
  onRename,
}: {
  id: string;
  title: string;
  description: string;
  current: string;
  maxLength: number;
  onRename: (name: string) => Promise<unknown>;
}) {
  const [open, setOpen] = useState(false);
  const [name, setName] = useState(current);
  const [error, setError] = useState<string | null>(null);
  return (
    <Dialog.Root open={open} onOpenChange={(o) => (setOpen(o), setName(current), setError(null))}>
      <Dialog.Trigger asChild>
        <button type="button" className="secondary small">
          Rename
        </button>
      </Dialog.Trigger>
      <Dialog.Portal>
        <Dialog.Overlay className="overlay" />
        <Dialog.Content className="dialog">
          <Dialog.Title>{title}</Dialog.Title>
          <Dialog.Description>{description}</Dialog.Description>
          <form
            onSubmit={async (e) => {
              e.preventDefault();
              try {
                await onRename(name.trim());
                setOpen(false);
              } catch (err) {
                let placed: string | null = null;
                const unplaced = applyServerErrors(err, (_f, e2) => (placed = e2.message), { name: 'name' });
                setError(placed ?? unplaced);
              }
            }}
          >
            <Field id={`rename-${id}`} label="Name" error={error ?? undefined}>
              <input {...described(`rename-${id}`, error ?? undefined)} value={name} onChange={(e) => setName(e.target.value)} required maxLength={maxLength} />
            </Field>
            <DialogFormButtons submitLabel="Save name" disabled={!name.trim() || name.trim() === current} />
          </form>
        </Dialog.Content>
      </Dialog.Portal>
    </Dialog.Root>
  );
}
