/**
 * The machine a benchmark ran on, recorded with its figures: without the CPU, the core count
 * and how busy the machine was, a throughput means little.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';

export interface Machine {
  cpu: string;
  cores: number;
  memoryGiB: number;
  os: string;
  node: string;
  /** 1, 5 and 15-minute load averages. */
  loadAverage: [number, number, number];
  /** The commit measured, with `+dirty` when the working tree had changes. */
  commit: string;
}

function commit(): string {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { encoding: 'utf8' }).trim();
    return dirty ? `${head}+dirty` : head;
  } catch {
    return 'unknown';
  }
}

function osName(): string {
  try {
    const release = fs.readFileSync('/etc/os-release', 'utf8');
    return /^PRETTY_NAME="?([^"\n]+)"?/m.exec(release)?.[1] ?? `${os.type()} ${os.release()}`;
  } catch {
    return `${os.type()} ${os.release()}`;
  }
}

export function loadAverage(): [number, number, number] {
  const [a, b, c] = os.loadavg();
  return [round2(a!), round2(b!), round2(c!)];
}

const round2 = (n: number): number => Math.round(n * 100) / 100;

export function describeMachine(): Machine {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    cores: os.availableParallelism(),
    memoryGiB: round2(os.totalmem() / 2 ** 30),
    os: `${osName()}, kernel ${os.release()}`,
    node: process.version,
    loadAverage: loadAverage(),
    commit: commit(),
  };
}
