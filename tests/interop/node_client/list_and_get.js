// A Node.js gRPC client of Weir, as a user of another language would write one: it loads the
// contract from protos/ at run time (no generated code) and calls JobService.ListJobs, then
// GetJob for the first job listed and for a job that does not exist.
//
// Usage: node list_and_get.js <host:port> <protos dir> <googleapis protos dir>
// Prints one JSON object: {"list": ..., "job": ..., "missing": {"code", "details"}}.
"use strict";

const grpc = require("@grpc/grpc-js");
const protoLoader = require("@grpc/proto-loader");

const [address, protosDir, googleapisDir] = process.argv.slice(2);
const UNKNOWN_JOB = "job_01ARZ3NDEKTSV4RRFFQ69G5FAV";
const DEADLINE_MS = 10000;

const definition = protoLoader.loadSync("weir/v1/jobs.proto", {
  includeDirs: [protosDir, googleapisDir],
  keepCase: true, // snake_case field names, as in the protos and the REST API
  enums: String, // job states as their names ("Running")
  longs: Number,
  defaults: true,
  oneofs: true,
});
const weir = grpc.loadPackageDefinition(definition).weir.v1;
const jobs = new weir.JobService(address, grpc.credentials.createInsecure());

function call(method, request) {
  return new Promise((resolve, reject) => {
    const deadline = new Date(Date.now() + DEADLINE_MS);
    jobs[method](request, { deadline }, (error, response) => (error ? reject(error) : resolve(response)));
  });
}

async function main() {
  const list = await call("ListJobs", { limit: 10, state: "Running" });
  const job = await call("GetJob", { job_id: list.data[0].id });
  let missing = null;
  try {
    await call("GetJob", { job_id: UNKNOWN_JOB });
  } catch (error) {
    missing = { code: error.code, details: error.details };
  }
  process.stdout.write(JSON.stringify({ list, job, missing }) + "\n");
  jobs.close();
}

main().catch((error) => {
  process.stderr.write(`${error.stack || error}\n`);
  process.exit(1);
});
