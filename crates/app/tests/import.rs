//! The JSON Lines import reads as it goes: chunks are committed while the file is still
//! being read, and a file that cannot be read to its end keeps what was committed.

#![allow(clippy::unwrap_used)]

use std::io::{BufReader, Cursor, Read};
use std::sync::Mutex;

use seguimiento_app::import::{ImportOptions, ImportProgress};
use seguimiento_app::{App, AppError, Principal};
use seguimiento_eventstore::EventStore;

seguimiento_eventstore::store_tests!(
    chunks_are_committed_while_the_file_is_still_being_read,
    a_read_error_keeps_the_committed_chunks_and_a_rerun_finishes_the_file,
);

/// One event per line: commitment `n` registered.
fn file(lines: usize) -> String {
    (1..=lines)
        .map(|n| {
            format!(
                "{{\"command\": \"registerCommitment\", \"input\": {{\"number\": {n}, \"text\": \"Compromiso {n}\"}}}}\n"
            )
        })
        .collect()
}

/// A reader that serves `text`, then fails (a disk or pipe that gives out mid-file).
struct FailsAtEnd(Cursor<Vec<u8>>);

impl Read for FailsAtEnd {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self.0.read(buf)? {
            0 => Err(std::io::Error::other("device gone")),
            n => Ok(n),
        }
    }
}

fn options(chunk_events: usize) -> ImportOptions<'static> {
    ImportOptions {
        chunk_events,
        ..ImportOptions::default()
    }
}

async fn chunks_are_committed_while_the_file_is_still_being_read(store: EventStore) {
    let app = App::from_store(store.clone());
    let seen: Mutex<Vec<ImportProgress>> = Mutex::new(Vec::new());
    let record = |p: ImportProgress| seen.lock().unwrap().push(p);
    let opts = ImportOptions {
        chunk_events: 10,
        lines: Some(100),
        on_progress: Some(&record),
        stop: None,
    };
    let report = app
        .import_jsonl(
            BufReader::new(Cursor::new(file(100))),
            &Principal::system("import"),
            opts,
        )
        .await
        .unwrap();
    assert_eq!((report.accepted, report.chunks), (100, 10), "{report:?}");
    assert_eq!(store.head_position().await.unwrap(), 100);
    let seen = seen.into_inner().unwrap();
    // The first commit is reported after its 10th line, long before the file's end: the
    // file is not validated as a whole before anything is appended.
    let first_commit = seen.iter().find(|p| p.events_appended > 0).unwrap();
    assert_eq!(
        (first_commit.lines_done, first_commit.events_appended),
        (10, 10)
    );
    assert!(seen.iter().all(|p| p.lines_total == Some(100)));
    assert_eq!(seen.last().map(|p| p.events_appended), Some(100));
}

async fn a_read_error_keeps_the_committed_chunks_and_a_rerun_finishes_the_file(store: EventStore) {
    let app = App::from_store(store.clone());
    let text = file(100);
    // The reader gives out after line 55: five chunks of 10 are committed, the five lines
    // of the sixth are not.
    let cut: String = text.lines().take(55).map(|l| format!("{l}\n")).collect();
    let err = app
        .import_jsonl(
            BufReader::new(FailsAtEnd(Cursor::new(cut.into_bytes()))),
            &Principal::system("import"),
            options(10),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&err, AppError::Validation(m) if m.contains("cannot read the import file")),
        "{err:?}"
    );
    assert_eq!(store.head_position().await.unwrap(), 50);

    let report = app
        .import_jsonl(
            BufReader::new(Cursor::new(text)),
            &Principal::system("import"),
            options(10),
        )
        .await
        .unwrap();
    assert_eq!(
        (
            report.already_imported,
            report.accepted,
            report.rejected.len()
        ),
        (50, 50, 0),
        "{report:?}"
    );
    assert_eq!(store.head_position().await.unwrap(), 100);
    let streams = store.list_streams("commitment-").await.unwrap();
    assert_eq!(streams.len(), 100);
}
