// Preloaded (node --import) into every process the local runtime spawns: when the parent's IPC
// channel closes (the CLI exited or was killed), the child terminates itself, so nothing is
// left orphaned. The channel is unref'd so it never keeps a finished child alive.
if (process.channel) {
  process.channel.unref();
  process.once('disconnect', () => {
    // SIGTERM lets the child drain as it would under an orchestrator; hard exit if it lingers.
    setTimeout(() => process.exit(1), 30_000).unref();
    process.kill(process.pid, 'SIGTERM');
  });
}
export {};
