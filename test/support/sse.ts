export interface SseEvent {
  event: string;
  id: string;
  data: any;
}

/**
 * Opens a server-sent event stream with fetch and collects its events as they arrive. Parses
 * the text/event-stream format: fields per line, events separated by a blank line, comments
 * (lines starting with ':') ignored.
 */
export async function openEventStream(url: string, headers: Record<string, string> = {}): Promise<{ status: number; events: SseEvent[]; ended: Promise<void>; close(): void }> {
  const controller = new AbortController();
  const res = await fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal: controller.signal });
  const events: SseEvent[] = [];
  let end = (): void => undefined;
  /** Resolves when the server ends the stream (or close() aborts it). */
  const ended = new Promise<void>((r) => (end = r));
  if (res.ok && res.body) {
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    void (async () => {
      try {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) return;
          buffer += value;
          let end: number;
          while ((end = buffer.indexOf('\n\n')) >= 0) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const fields = new Map<string, string>();
            for (const line of block.split('\n')) {
              if (line.startsWith(':') || line === '') continue;
              const i = line.indexOf(':');
              fields.set(line.slice(0, i), line.slice(i + 1).replace(/^ /, ''));
            }
            if (fields.has('data')) events.push({ event: fields.get('event') ?? 'message', id: fields.get('id') ?? '', data: JSON.parse(fields.get('data')!) });
          }
        }
      } catch {
        // Aborted by close().
      } finally {
        end();
      }
    })();
  } else {
    await res.body?.cancel();
    end();
  }
  return { status: res.status, events, ended, close: () => controller.abort() };
}
