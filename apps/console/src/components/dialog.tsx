import * as Dialog from '@radix-ui/react-dialog';

/** Cancel and submit at the foot of a dialog's form. */
export function DialogFormButtons({ submitLabel, disabled }: { submitLabel: string; disabled?: boolean }) {
  return (
    <div className="dialog-actions">
      <Dialog.Close asChild>
        <button type="button" className="secondary">
          Cancel
        </button>
      </Dialog.Close>
      <button type="submit" className="primary" disabled={disabled}>
        {submitLabel}
      </button>
    </div>
  );
}
