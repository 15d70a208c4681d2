//! Library half of the example binaries: the HTTP API server that `vaultiq
//! serve` runs, and the AWS Lambda handlers that run the same router and
//! the core pipelines serverless. The binaries in `src/bin/` only wire
//! these to a command line or to the Lambda runtime.

pub mod lambda;
pub mod server;
