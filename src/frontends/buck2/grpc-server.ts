import { Server, ServerCredentials, type UntypedServiceImplementation } from "@grpc/grpc-js";
import { execHandler } from "./exec-service.js";
import { executeHandler } from "./execute-service.js";
import { executeStreamHandler } from "./execute-stream-service.js";
import type { RequestRunner } from "./request-runner.js";
import { clearStaleSocket, restrictSocketPermissions } from "./socket-path.js";
import { workerServiceDefinition, workerStreamingServiceDefinition } from "../../protocol/buck2/codec.js";

export interface Buck2ServerOptions {
  /** Largest request accepted; Buck2 itself sets no limit (docs/protocol/buck2-worker.md §5.4). -1 = unlimited. */
  maxReceiveBytes: number;
}

/** A gRPC server with the Buck2 services and grpc-js' 4 MiB limits lifted both ways (docs/protocol/buck2-worker.md §5.4). */
export function createBuck2Server(runner: RequestRunner, options: Buck2ServerOptions): Server {
  const server = new Server({
    "grpc.max_receive_message_length": options.maxReceiveBytes,
    "grpc.max_send_message_length": -1,
  });
  server.addService(workerServiceDefinition, {
    execute: executeHandler(runner),
    exec: execHandler(runner),
  } as UntypedServiceImplementation);
  server.addService(workerStreamingServiceDefinition, {
    executeStream: executeStreamHandler(runner),
  } as UntypedServiceImplementation);
  return server;
}

export function socketAddress(path: string): string {
  return `unix:${path}`;
}

/**
 * Binds plain-text HTTP/2 on the Unix socket (docs/protocol/buck2-worker.md §5.1), replacing a stale socket file first and
 * leaving the new one readable and writable by its owner only.
 */
export async function bindUnixSocket(server: Server, path: string): Promise<void> {
  await clearStaleSocket(path);
  // The umask closes the window between bind and chmod; nothing else runs before the bind completes.
  const previousUmask = process.umask(0o177);
  try {
    await new Promise<void>((resolve, reject) => {
      server.bindAsync(socketAddress(path), ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve()));
    });
  } finally {
    process.umask(previousUmask);
  }
  await restrictSocketPermissions(path);
}
