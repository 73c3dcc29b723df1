import { useState, type FormEvent } from 'react';
import { apiKey, setApiKey } from './api-key';

/** Asks for an API key (the API answered UNAUTHENTICATED) and keeps it for this tab. */
export function ApiKeyPrompt({ onClose }: { onClose: () => void }) {
  const [value, setValue] = useState('');
  const submit = (event: FormEvent) => {
    event.preventDefault();
    setApiKey(value.trim() || null);
    onClose();
  };
  return (
    <div className="modal-backdrop" role="presentation">
      <form className="modal" role="dialog" aria-labelledby="api-key-title" onSubmit={submit}>
        <h2 id="api-key-title">API key</h2>
        <p>
          This Trellis needs an API key (<code>trellis keys create</code> makes one). It is kept in this tab only (sessionStorage) and sent
          with every request and on the live connection.
        </p>
        <input
          type="password"
          name="apiKey"
          autoComplete="off"
          placeholder="trk_…"
          value={value}
          onChange={(event) => setValue(event.target.value)}
          autoFocus
        />
        <div className="actions">
          {apiKey() && (
            <button type="button" onClick={() => (setApiKey(null), onClose())}>
              Forget the key
            </button>
          )}
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="primary">
            Use this key
          </button>
        </div>
      </form>
    </div>
  );
}
