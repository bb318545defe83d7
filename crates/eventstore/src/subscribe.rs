//! Following the log live: the in-process wake-up signal, PostgreSQL's `LISTEN` loop that
//! feeds it, and the catch-up-then-follow stream of [`EventStore::subscribe`](crate::EventStore::subscribe).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use futures::stream::{self, BoxStream, StreamExt};
use sqlx::postgres::{PgListener, PgPool};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::error::StoreError;
use crate::page::{fetch_page, Cursor, Fields, PAGE};
use crate::read::{decode_all, Reader};
use crate::row::StoredRow;
use crate::types::{LogFilter, RecordedEvent};
use crate::write::NOTIFY_CHANNEL;

/// Subscribers re-check the log at least this often even without a wake-up (covers writers in
/// other processes on SQLite and lost notifications on PostgreSQL).
const SAFETY_RECHECK: Duration = Duration::from_secs(3);

/// A generation counter bumped after every local commit and every PostgreSQL `NOTIFY`:
/// what wakes subscribers. On PostgreSQL it owns the `LISTEN` task feeding it, which
/// therefore runs as long as the store or any of its subscriptions does.
#[derive(Debug)]
pub(crate) struct Wake {
    tx: watch::Sender<u64>,
    listener: Mutex<Option<JoinHandle<()>>>,
}

impl Default for Wake {
    fn default() -> Self {
        Wake {
            tx: watch::channel(0).0,
            listener: Mutex::new(None),
        }
    }
}

impl Wake {
    pub fn bump(&self) {
        self.tx.send_modify(|g| *g = g.wrapping_add(1));
    }

    /// Stops the `LISTEN` task, if any.
    pub fn stop_listening(&self) {
        let task = self.listener.lock().ok().and_then(|mut g| g.take());
        if let Some(task) = task {
            task.abort();
        }
    }
}

impl Drop for Wake {
    fn drop(&mut self) {
        self.stop_listening();
    }
}

struct SubState {
    reader: Reader,
    /// Held so the sender outlives every subscription (and the listener keeps running).
    _wake: Arc<Wake>,
    wake: watch::Receiver<u64>,
    after: u64,
    buf: VecDeque<Result<RecordedEvent, StoreError>>,
    done: bool,
}

/// Every event with position `> after`, in order with no gaps, then each new event as it
/// commits (see [`EventStore::subscribe`](crate::EventStore::subscribe)).
pub(crate) fn follow(
    reader: Reader,
    wake: Arc<Wake>,
    after: u64,
) -> BoxStream<'static, Result<RecordedEvent, StoreError>> {
    let state = SubState {
        reader,
        wake: wake.tx.subscribe(),
        _wake: wake,
        after,
        buf: VecDeque::new(),
        done: false,
    };
    stream::unfold(state, |mut st| async move {
        loop {
            if let Some(item) = st.buf.pop_front() {
                if item.is_err() {
                    st.done = true;
                    st.buf.clear();
                }
                return Some((item, st));
            }
            if st.done {
                return None;
            }
            // Mark the current wake-up generation as seen *before* reading, so a commit
            // landing after our read is guaranteed to wake us.
            st.wake.borrow_and_update();
            let cursor = Cursor::All { after: st.after };
            let page = fetch_page(
                st.reader.source(),
                &cursor,
                &LogFilter::default(),
                PAGE,
                Fields::All,
            )
            .await;
            match page {
                Err(e) => st.buf.push_back(Err(e)),
                Ok(rows) if rows.is_empty() => {
                    // Caught up: wait for a wake-up or the safety re-check.
                    let wait = tokio::time::timeout(SAFETY_RECHECK, st.wake.changed());
                    if let Ok(Err(_)) = wait.await {
                        // Sender gone (cannot happen while we hold it): poll.
                        tokio::time::sleep(SAFETY_RECHECK).await;
                    }
                }
                Ok(rows) => {
                    if let Some(last) = rows.last() {
                        st.after = last.position;
                    }
                    let (items, _) = decode_all(rows, StoredRow::into_event);
                    st.buf.extend(items);
                }
            }
        }
    })
    .boxed()
}

/// Starts forwarding PostgreSQL notifications to `wake`, listening before it returns so
/// that no commit after this call goes unnoticed.
pub(crate) async fn listen(pool: &PgPool, wake: &Arc<Wake>) -> Result<(), StoreError> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen(NOTIFY_CHANNEL).await?;
    let task = tokio::spawn(listen_loop(listener, Arc::downgrade(wake), pool.clone()));
    if let Ok(mut guard) = wake.listener.lock() {
        *guard = Some(task);
    }
    Ok(())
}

/// Forwards notifications to the wake signal; reconnects forever (with a pause) until
/// the signal is dropped (the store and its subscriptions are gone) or the pool closed.
async fn listen_loop(mut listener: PgListener, weak: Weak<Wake>, pool: PgPool) {
    loop {
        let res = listener.try_recv().await;
        let Some(wake) = weak.upgrade() else {
            return;
        };
        match res {
            Ok(Some(_)) => {
                while listener.next_buffered().is_some() {}
                wake.bump();
            }
            Ok(None) => {
                // Connection lost (and re-established): notifications may have been missed.
                wake.bump();
            }
            Err(sqlx::Error::PoolClosed) => return,
            Err(e) => {
                tracing::warn!(error = %e, "event listener failed; reconnecting");
                drop(wake);
                tokio::time::sleep(Duration::from_secs(1)).await;
                if pool.is_closed() {
                    return;
                }
                match PgListener::connect_with(&pool).await {
                    Ok(mut l) => {
                        if l.listen(NOTIFY_CHANNEL).await.is_ok() {
                            listener = l;
                            if let Some(wake) = weak.upgrade() {
                                wake.bump();
                            }
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "event listener reconnect failed"),
                }
            }
        }
    }
}
