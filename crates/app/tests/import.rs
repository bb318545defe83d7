//! The JSON Lines import reads as it goes: chunks are committed while the file is still
//! being read, and a file that cannot be read to its end keeps what was committed.

#![allow(clippy::unwrap_used)]

use std::io::{BufReader, Cursor, Read};
use std::sync::Mutex;

use seguimiento_app::import::{ImportOptions, ImportProgress};
use seguimiento_app::{App, AppError, CommandRequest, Principal};
use seguimiento_eventstore::EventStore;

seguimiento_eventstore::on_both_backends!(
    seguimiento_eventstore::testing::TestDb:
    chunks_are_committed_while_the_file_is_still_being_read,
    a_read_error_keeps_the_committed_chunks_and_a_rerun_finishes_the_file,
    streams_dropped_from_the_cache_are_reloaded_with_their_history,
    lines_imported_under_earlier_ids_are_not_imported_again,
    a_line_that_is_not_utf8_is_rejected_with_its_number_and_the_rest_imports,
    a_command_id_reused_for_another_command_is_rejected_on_import,
    an_exported_event_with_a_time_the_log_cannot_keep_is_rejected_with_its_number,
    the_write_path_and_the_import_recognise_each_others_commands,
);

/// An exported event line is appended as it is, past the command checks: one whose
/// effective time the log could not give back (a negative year, a leap second) would
/// poison its stream for good, so it is rejected like any bad line and the rest imports.
async fn an_exported_event_with_a_time_the_log_cannot_keep_is_rejected_with_its_number(
    store: EventStore,
) {
    let app = App::from_store(store.clone());
    let event = |id: u32, at: &str| {
        format!(
            r#"{{"id":"00000000-0000-4000-8000-{id:012}","stream":"agencies","eventType":"AgencyRegistered","schemaVersion":1,"payload":{{"acronym":"A{id}","name":"Agencia {id}","sectorHead":null}},"metadata":{{"actor":"admin"}},"effectiveAt":"{at}"}}"#
        ) + "\n"
    };
    let text = [
        event(1, "2023-01-02T00:00:00Z"),
        event(2, "-0001-01-01T00:00:00Z"),
        event(3, "2016-12-31T23:59:60Z"),
        event(4, "2023-01-03T00:00:00Z"),
    ]
    .concat();
    let report = import_text(&app, text).await;
    assert_eq!(report.accepted, 2, "{report:?}");
    let lines: Vec<usize> = report.rejected.iter().map(|r| r.line).collect();
    assert_eq!(lines, vec![2, 3], "{report:?}");
    assert!(
        report.rejected[0].reason.contains("effectiveAt"),
        "{report:?}"
    );
    assert_eq!(store.head_position().await.unwrap(), 2);
    assert_eq!(store.verify(None).await.unwrap().first_broken, None);
}

async fn a_line_that_is_not_utf8_is_rejected_with_its_number_and_the_rest_imports(
    store: EventStore,
) {
    let app = App::from_store(store.clone());
    let mut bytes = file(2).into_bytes();
    bytes.extend_from_slice(b"{\"command\": \"registerCommitment\", \"input\": {\"number\": 9, \"text\": \"caf\xe9\"}}\n");
    bytes.extend_from_slice(
        b"{\"command\": \"registerCommitment\", \"input\": {\"number\": 4, \"text\": \"Cuatro\"}}\n",
    );
    // A date in a form chrono would take but the format does not document.
    bytes.extend_from_slice(
        br#"{"command": "holdCabinetMeeting", "input": {"meetingId": "00000000-0000-4000-8000-0000000000a9", "meetingType": "LEGAL", "date": "2023-3-1", "agencies": ["SIDUR"]}}"#,
    );
    bytes.push(b'\n');
    let report = app
        .import_jsonl(
            BufReader::new(Cursor::new(bytes)),
            &Principal::system("import"),
            ImportOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(report.lines, 5, "{report:?}");
    assert_eq!(report.accepted, 3, "{report:?}");
    assert_eq!(report.rejected.len(), 2, "{report:?}");
    assert_eq!(report.rejected[0].line, 3, "{report:?}");
    assert!(report.rejected[0].reason.contains("UTF-8"), "{report:?}");
    assert_eq!(report.rejected[1].line, 5, "{report:?}");
    assert!(
        report.rejected[1].reason.contains("YYYY-MM-DD"),
        "{report:?}"
    );
    assert_eq!(store.head_position().await.unwrap(), 3);
}

async fn a_command_id_reused_for_another_command_is_rejected_on_import(store: EventStore) {
    let app = App::from_store(store.clone());
    let id = uuid::Uuid::now_v7();
    let line = |text: &str| {
        format!(
            "{{\"command\": \"registerCommitment\", \"commandId\": \"{id}\", \"input\": {{\"number\": 3, \"text\": \"{text}\"}}}}\n"
        )
    };
    let first = import_text(&app, line("Hospital")).await;
    assert_eq!(first.accepted, 1, "{first:?}");
    let same = import_text(&app, line("Hospital")).await;
    assert_eq!(same.already_imported, 1, "{same:?}");
    let other = import_text(&app, line("Escuela")).await;
    assert_eq!(other.accepted + other.already_imported, 0, "{other:?}");
    assert_eq!(other.rejected.len(), 1, "{other:?}");
    assert!(
        other.rejected[0].reason.contains("different command"),
        "{other:?}"
    );
    assert_eq!(store.head_position().await.unwrap(), 1);
}

/// The write path and the importer admit and decide through the same functions: a command
/// applied through [`App::execute`] under a commandId is already imported when a line
/// brings it, and a line's command sent again through `App::execute` is a replay of it.
async fn the_write_path_and_the_import_recognise_each_others_commands(store: EventStore) {
    let app = App::from_store(store.clone());
    let line = |id: uuid::Uuid, n: u32| {
        format!(
            "{{\"command\": \"registerCommitment\", \"commandId\": \"{id}\", \"input\": {{\"number\": {n}, \"text\": \"Compromiso {n}\"}}}}\n"
        )
    };
    let request = |id: uuid::Uuid, n: u32| CommandRequest {
        command: serde_json::from_value(serde_json::json!({
            "command": "registerCommitment",
            "input": {"number": n, "text": format!("Compromiso {n}")},
        }))
        .unwrap(),
        principal: Principal::system("import"),
        effective_at: None,
        expected_version: None,
        command_id: Some(id),
    };
    let through_api = uuid::Uuid::now_v7();
    assert!(!app.execute(request(through_api, 1)).await.unwrap().replayed);
    let report = import_text(&app, line(through_api, 1)).await;
    assert_eq!(report.already_imported, 1, "{report:?}");

    let through_import = uuid::Uuid::now_v7();
    let report = import_text(&app, line(through_import, 2)).await;
    assert_eq!(report.accepted, 1, "{report:?}");
    let again = app.execute(request(through_import, 2)).await.unwrap();
    assert!(again.replayed, "{again:?}");
    let stored: Vec<uuid::Uuid> = app
        .load_stream("commitment-2")
        .await
        .unwrap()
        .iter()
        .map(|e| e.id)
        .collect();
    assert_eq!(
        stored,
        seguimiento_domain::ids::command_event_ids(through_import, 1)
    );
    assert_eq!(store.head_position().await.unwrap(), 2);
}

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

/// Imports `text` as the system principal with the default options.
async fn import_text(app: &App, text: String) -> seguimiento_app::import::ImportReport {
    app.import_jsonl(
        BufReader::new(Cursor::new(text)),
        &Principal::system("import"),
        ImportOptions::default(),
    )
    .await
    .unwrap()
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

/// A line without a `commandId` got the UUID v5 of its number and text as command id from
/// releases before time-ordered ids; with an `effectiveAt` it now gets a v7. A file such a
/// release imported must still be recognised when it is run again.
async fn lines_imported_under_earlier_ids_are_not_imported_again(store: EventStore) {
    // The namespace of those ids: part of the stored format, so spelled out here.
    const LINE_NAMESPACE: uuid::Uuid =
        uuid::Uuid::from_u128(0x5e6a_1d0c_7c1e_4d4f_9a51_0d3f_2b8e_0002);
    let app = App::from_store(store.clone());
    let line = r#"{"command": "registerCommitment", "effectiveAt": "2023-05-02T10:00:00Z", "input": {"number": 1, "text": "Compromiso 1"}}"#;
    let earlier = uuid::Uuid::new_v5(&LINE_NAMESPACE, format!("1\n{line}").as_bytes());
    // What that release stored: the same command under the earlier id.
    let mut stored_then: serde_json::Value = serde_json::from_str(line).unwrap();
    stored_then["commandId"] = serde_json::Value::String(earlier.to_string());
    let first = import_text(&app, format!("{stored_then}\n")).await;
    assert_eq!((first.accepted, first.events_appended), (1, 1), "{first:?}");
    let rerun = import_text(&app, format!("{line}\n")).await;
    assert_eq!(rerun.already_imported, 1, "{rerun:?}");
    assert_eq!(rerun.events_appended, 0, "{rerun:?}");
    assert!(rerun.rejected.is_empty(), "{rerun:?}");
    assert_eq!(store.head_position().await.unwrap(), 1);
}

async fn chunks_are_committed_while_the_file_is_still_being_read(store: EventStore) {
    let app = App::from_store(store.clone());
    let seen: Mutex<Vec<ImportProgress>> = Mutex::new(Vec::new());
    let record = |p: ImportProgress| seen.lock().unwrap().push(p);
    let opts = ImportOptions {
        chunk_events: 10,
        lines: Some(100),
        on_progress: Some(&record),
        ..ImportOptions::default()
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
    // The first chunk is sent after its 10th line and appended while the next lines are
    // validated; its commit is reported by the time the second chunk is full, long before
    // the file's end: the file is not validated as a whole before anything is appended.
    let first_commit = seen.iter().find(|p| p.events_appended > 0).unwrap();
    assert_eq!(first_commit.events_appended, 10);
    assert!(
        (10..=20).contains(&first_commit.lines_done),
        "{first_commit:?}"
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

/// Lines that come back to streams the cache dropped long before: a second registration
/// of each commitment (refused only if the reloaded history shows the first), and a line
/// repeating an early line's commandId.
fn file_returning_to_old_streams() -> String {
    let mut text = file(40);
    for n in 1..=40 {
        text.push_str(&format!(
            "{{\"command\": \"registerCommitment\", \"input\": {{\"number\": {n}, \"text\": \"Otra vez {n}\"}}}}\n"
        ));
    }
    text.push_str(
        "{\"command\": \"registerCommitment\", \"input\": {\"number\": 41, \"text\": \"A\"}, \"commandId\": \"6d1f4f44-5a4e-4bb5-9a54-3c1d2a1f0001\"}\n",
    );
    text.push_str(
        &file(60)
            .lines()
            .skip(41)
            .map(|l| format!("{l}\n"))
            .collect::<String>(),
    );
    text.push_str(
        "{\"command\": \"registerCommitment\", \"input\": {\"number\": 99, \"text\": \"B\"}, \"commandId\": \"6d1f4f44-5a4e-4bb5-9a54-3c1d2a1f0001\"}\n",
    );
    // The same commandId on line 81's own stream, by then committed and reloaded: still a
    // repeat within the file, not an event already stored before the import.
    text.push_str(
        "{\"command\": \"registerCommitment\", \"input\": {\"number\": 41, \"text\": \"A\"}, \"commandId\": \"6d1f4f44-5a4e-4bb5-9a54-3c1d2a1f0001\"}\n",
    );
    text
}

async fn streams_dropped_from_the_cache_are_reloaded_with_their_history(store: EventStore) {
    let text = file_returning_to_old_streams();
    // Reference: everything stays cached.
    let reference = seguimiento_eventstore::testing::sqlite_store()
        .await
        .unwrap();
    let expected = App::from_store(reference.store().clone())
        .import_jsonl(
            BufReader::new(Cursor::new(text.clone())),
            &Principal::system("import"),
            options(5),
        )
        .await
        .unwrap();
    reference.cleanup().await;
    assert_eq!(expected.rejected.len(), 42, "{expected:?}");

    // A cache of 4 events: nearly every stream is dropped and read back.
    let app = App::from_store(store.clone());
    let small = ImportOptions {
        cache_events: 4,
        ..options(5)
    };
    let report = app
        .import_jsonl(
            BufReader::new(Cursor::new(text)),
            &Principal::system("import"),
            small,
        )
        .await
        .unwrap();
    assert_eq!(report, expected);
    assert_eq!(store.head_position().await.unwrap(), 60);
    assert!(report
        .rejected
        .iter()
        .filter(|r| r.reason.contains("same commandId as line 81"))
        .map(|r| r.line)
        .eq([101, 102]));
}
