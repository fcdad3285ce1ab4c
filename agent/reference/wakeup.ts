/**
 * A sleep that can be cut short: the report loop waits its interval here, and finishing a
 * command wakes it so the controller learns at once. A wake-up that comes while nobody
 * sleeps is remembered, so the next sleep returns immediately (a command that finished
 * while a report was in flight still gets its own report).
 */
export class Wakeup {
  private wake: (() => void) | undefined;
  private pending = false;

  sleep(ms: number): Promise<void> {
    if (this.pending) {
      this.pending = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wake = done;
    });
  }

  notify(): void {
    if (this.wake !== undefined) this.wake();
    else this.pending = true;
  }
}
