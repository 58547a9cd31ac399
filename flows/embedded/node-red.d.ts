/** The parts of Node-RED's embedding API (node-red, untyped CommonJS) the runner uses. */
declare module 'node-red' {
  import type { RequestListener, Server } from 'node:http';

  type Handler = (req: Parameters<RequestListener>[0], res: Parameters<RequestListener>[1], next: (err?: unknown) => void) => void;

  interface NodeRed {
    init(server: Server, settings: Record<string, unknown>): void;
    start(): Promise<void>;
    stop(): Promise<void>;
    readonly httpAdmin: Handler;
    readonly httpNode: Handler;
    readonly nodes: { getNode(id: string): (Record<string, unknown> & { context(): { flow: { get(key: string): unknown } } }) | null };
  }

  const RED: NodeRed;
  export default RED;
}
