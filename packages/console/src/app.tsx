import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { ApiError, ConsoleApi, sessionKeyStore } from './api/client.js';
import { useRoute } from './hooks.js';
import type { Route } from './hooks.js';
import { DeadLettersView } from './views/dead-letters-view.js';
import { OrdersView } from './views/orders-view.js';
import { SystemView } from './views/system-view.js';

type Access = 'checking' | 'needs-key' | 'open';

const NAV: readonly { route: Route; label: string }[] = [
  { route: 'orders', label: 'Orders' },
  { route: 'system', label: 'System' },
  { route: 'dead-letters', label: 'Dead letters' },
];

export function App() {
  const keys = useMemo(() => sessionKeyStore(sessionStorage), []);
  const [access, setAccess] = useState<Access>(() => (keys.get() ? 'open' : 'checking'));
  const [keyError, setKeyError] = useState<string | null>(null);
  const api = useMemo(
    () =>
      new ConsoleApi(keys, () => {
        setKeyError('The API refused the key. Enter an operator key.');
        setAccess('needs-key');
      }),
    [keys],
  );
  const route = useRoute();

  // Without a stored key, find out whether this API asks for one at all.
  useEffect(() => {
    if (access !== 'checking') return;
    api.get('/console/api/orders?limit=1').then(
      () => setAccess('open'),
      (err: unknown) => {
        if (!(err instanceof ApiError && err.status === 401))
          setKeyError(`The API did not answer: ${String(err)}`);
        setAccess('needs-key');
      },
    );
  }, [access, api]);

  if (access !== 'open') {
    return (
      <main id="main" class="gate">
        <h1>Notify operator console</h1>
        {access === 'checking' ? (
          <p role="status">Connecting to the order API…</p>
        ) : (
          <KeyForm
            error={keyError}
            onKey={(key) => {
              keys.set(key);
              setKeyError(null);
              setAccess('checking');
            }}
          />
        )}
      </main>
    );
  }

  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <h1>Notify operator console</h1>
        <nav aria-label="Views">
          <ul>
            {NAV.map((n) => (
              <li key={n.route}>
                <a href={`#/${n.route}`} aria-current={route === n.route ? 'page' : undefined}>
                  {n.label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        {keys.get() ? (
          <button
            type="button"
            class="quiet"
            onClick={() => {
              keys.clear();
              setAccess('needs-key');
            }}
          >
            Forget key
          </button>
        ) : null}
      </header>
      <main id="main" tabIndex={-1}>
        {route === 'orders' ? <OrdersView api={api} /> : null}
        {route === 'system' ? <SystemView api={api} /> : null}
        {route === 'dead-letters' ? <DeadLettersView api={api} /> : null}
      </main>
    </>
  );
}

function KeyForm(props: { error: string | null; onKey: (key: string) => void }) {
  const input = useRef<HTMLInputElement>(null);
  useEffect(() => input.current?.focus(), []);
  return (
    <form
      class="key-form"
      onSubmit={(e) => {
        e.preventDefault();
        const key = input.current?.value.trim() ?? '';
        if (key) props.onKey(key);
      }}
    >
      <p>
        The console shows every client's orders and can replay dead letters, so it needs an operator API key.
        The key stays in this browser tab only.
      </p>
      <label for="api-key">Operator API key</label>
      <input
        id="api-key"
        ref={input}
        type="password"
        autocomplete="off"
        spellcheck={false}
        required
        aria-describedby={props.error ? 'key-error' : undefined}
      />
      {props.error ? (
        <p id="key-error" class="error" role="alert">
          {props.error}
        </p>
      ) : null}
      <button type="submit">Open the console</button>
    </form>
  );
}
