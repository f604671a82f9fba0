// The Docker image's HEALTHCHECK: exits 0 when this container's
// /health/ready answers 200 (ok, or degraded but serving), 1 otherwise.
// scripts/production-start.mjs runs this same file against a real start-up.
const port = process.env.PORT || '3000';
try {
  const response = await fetch(`http://127.0.0.1:${port}/health/ready`, { signal: AbortSignal.timeout(4000) });
  console.log(response.status, await response.text());
  process.exit(response.status === 200 ? 0 : 1);
} catch (error) {
  console.log(`unreachable: ${error.message}`);
  process.exit(1);
}
