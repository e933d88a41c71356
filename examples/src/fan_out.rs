//! Many calls at once through the async client (hyper on tokio): what
//! `examples/examples/async_concurrency.rs` runs.

use leap0_core::{CreateSnapshot, Error, Snapshot};
use tokio::task::{JoinError, JoinSet};

/// Snapshots every sandbox in `sandbox_ids` at once, one spawned task each
/// (named `fan-00`, `fan-01`, ... by position), and returns the results in the
/// order of `sandbox_ids`.
///
/// `JoinSet::spawn` demands `Send + 'static` futures: that this compiles is
/// the proof that the client's futures are `Send`, so tokio may move them
/// between worker threads. The client is cloned into each task; clones share
/// one connection pool.
///
/// The `Err` case is a task that panicked or was cancelled.
pub async fn create_all(
    client: &leap0_hyper::Client,
    sandbox_ids: &[String],
) -> Result<Vec<Result<Snapshot, Error>>, JoinError> {
    let mut tasks = JoinSet::new();
    for (index, sandbox) in sandbox_ids.iter().enumerate() {
        let client = client.clone();
        let input = CreateSnapshot::new(sandbox).name(format!("fan-{index:02}"));
        tasks.spawn(async move { (index, client.create(input).await) });
    }
    let mut results: Vec<Option<Result<Snapshot, Error>>> = std::iter::repeat_with(|| None)
        .take(sandbox_ids.len())
        .collect();
    while let Some(joined) = tasks.join_next().await {
        let (index, result) = joined?;
        results[index] = Some(result);
    }
    // Every index was spawned and joined once, so each slot is filled.
    Ok(results
        .into_iter()
        .map(|slot| slot.unwrap_or(Err(Error::Misuse("a task gave no result"))))
        .collect())
}
