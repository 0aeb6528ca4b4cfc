// lb -d stops cleanly on SIGTERM even when the signal arrives before its listeners are bound:
// the handlers are installed before the configuration is read (regression: exit 143 before).
import test from 'ava';
import { freePorts, startLb, writeConfig } from './harness.ts';

test('SIGTERM during start-up: clean stop, exit 0, not killed by the signal', async (t) => {
  const [port, sp] = await freePorts(2);
  // `nbthread 2` makes lb print a warning during validate(), i.e. before start(): the signal is
  // sent the moment it shows, while the listeners are being bound or just before.
  const cfg = writeConfig(`global
  nbthread 2
defaults
  mode tcp
  timeout connect 1s
  timeout client 5s
  timeout server 5s
frontend f
  bind 127.0.0.1:${port}
  default_backend b
backend b
  server s1 127.0.0.1:${sp}
`);
  const lb = await startLb(cfg, undefined);
  const signal = new Promise<NodeJS.Signals | null>((resolve) => lb.child.once('exit', (_c, s) => resolve(s)));
  await new Promise<void>((resolve) => {
    const check = (): void => {
      if (lb.stderr().includes('nbthread')) {
        lb.child.kill('SIGTERM');
        resolve();
      } else setTimeout(check, 1);
    };
    check();
  });
  const code = await lb.exited;
  t.is(await signal, null, lb.stderr());
  t.is(code, 0, lb.stderr());
  t.regex(lb.stderr(), /SIGTERM received, stopping/);
});
