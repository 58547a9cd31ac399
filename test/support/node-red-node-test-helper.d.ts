/** The parts of node-red-node-test-helper (untyped, CommonJS) the node tests use. */
declare module 'node-red-node-test-helper' {
  import type { EventEmitter } from 'node:events';

  export type NodeModule = (RED: unknown) => void;
  export interface FlowNode extends EventEmitter {
    id: string;
    type: string;
    receive(msg: Record<string, unknown>): void;
    [key: string]: unknown;
  }

  interface Helper {
    init(runtimePath: string, userSettings?: Record<string, unknown>): void;
    settings(userSettings: Record<string, unknown>): Record<string, unknown>;
    startServer(): Promise<void>;
    stopServer(): Promise<void>;
    load(nodes: NodeModule | NodeModule[], flow: Record<string, unknown>[], credentials?: Record<string, Record<string, string>>): Promise<void>;
    unload(): Promise<void>;
    getNode(id: string): FlowNode | null;
    request(): import('node:http').RequestListener & { get(path: string): Promise<{ status: number; body: unknown }> };
    url(): string;
  }

  const helper: Helper;
  export default helper;
}
