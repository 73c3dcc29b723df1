import type { ReactNode } from 'react';

/** A dialog over the page: a title, its content, and the buttons to confirm or cancel. */
export function Modal(props: {
  title: string;
  children: ReactNode;
  confirmLabel: string;
  onConfirm: () => void;
  onCancel: () => void;
  busy?: boolean;
  error?: string | null;
  danger?: boolean;
  confirmDisabled?: boolean;
}) {
  return (
    <div className="modal-backdrop" role="presentation" onKeyDown={(event) => event.key === 'Escape' && props.onCancel()}>
      <div className="modal" role="dialog" aria-modal="true" aria-label={props.title}>
        <h2>{props.title}</h2>
        {props.children}
        {props.error && <p className="error">{props.error}</p>}
        <div className="actions">
          <button type="button" onClick={props.onCancel}>
            Cancel
          </button>
          <button
            type="button"
            className={props.danger ? 'danger' : 'primary'}
            onClick={props.onConfirm}
            disabled={props.busy || props.confirmDisabled}
            data-confirm
          >
            {props.busy ? '…' : props.confirmLabel}
          </button>
        </div>
      </div>
    </div>
  );
}
