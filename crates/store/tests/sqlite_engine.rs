//! The SQLite engine's own promises, beyond what both backends share: it
//! runs statements on the caller's thread, so what can wait (a lock another
//! process holds, a COMMIT) must not hold up the runtime. Driven on a
//! single-threaded runtime, where anything that blocked inline would stop
//! every other task.

use std::sync::mpsc;
use std::time::Duration;

use twostep_core::{UnixTime, UserId};
use twostep_store::{users, Store};

async fn open(dir: &tempfile::TempDir) -> Store {
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
    Store::open(&url).await.unwrap()
}

async fn add_user(c: &mut twostep_store::Conn, n: u32) {
    users::insert(
        c,
        users::NewUser {
            id: &UserId::new(format!("u{n}")),
            username: &format!("user{n}"),
            email: &format!("user{n}@example.net"),
            password_hash: Some("$argon2id$…"),
            now: UnixTime::from_secs(100),
        },
    )
    .await
    .unwrap();
}

#[tokio::test(flavor = "current_thread")]
async fn another_writer_is_waited_for_while_reads_go_on() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir).await;
    {
        let mut c = store.conn().await.unwrap();
        add_user(&mut c, 1).await;
    }

    // Another writer (as `twostep serv` or `twostep admin` would be) takes
    // the write lock and keeps it until told to commit.
    let path = dir.path().join("t.db");
    let (holding_tx, holding) = mpsc::channel();
    let (release, release_rx) = mpsc::channel::<()>();
    let other = std::thread::spawn(move || {
        let c = rusqlite::Connection::open(path).unwrap();
        c.execute_batch(
            "BEGIN IMMEDIATE; UPDATE users SET factor_failures_in_row = 7 WHERE id = 'u1'",
        )
        .unwrap();
        holding_tx.send(()).unwrap();
        release_rx.recv().unwrap();
        c.execute_batch("COMMIT").unwrap();
    });
    holding.recv().unwrap();

    // Our writer waits for the lock on a blocking thread...
    let writer = tokio::spawn({
        let store = store.clone();
        async move {
            let mut tx = store.begin().await?;
            add_user(&mut tx, 2).await;
            tx.commit().await
        }
    });
    tokio::task::yield_now().await;
    assert!(!writer.is_finished(), "the lock is still held elsewhere");

    // ...so this thread still serves reads, which see the last commit.
    let read = tokio::time::timeout(Duration::from_secs(30), async {
        let mut c = store.conn().await.unwrap();
        users::by_id(&mut c, &UserId::new("u1".into()))
            .await
            .unwrap()
            .unwrap()
    })
    .await
    .expect("a read while another process writes must not wait for it");
    assert_eq!(read.factor_failures_in_row, 0);

    release.send(()).unwrap();
    other.join().unwrap();
    writer
        .await
        .unwrap()
        .expect("the writer got the lock once it was free");

    let mut c = store.conn().await.unwrap();
    let u1 = users::by_id(&mut c, &UserId::new("u1".into()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(u1.factor_failures_in_row, 7, "the other writer's commit");
    assert!(users::by_id(&mut c, &UserId::new("u2".into()))
        .await
        .unwrap()
        .is_some());
}

#[tokio::test(flavor = "current_thread")]
async fn a_transaction_dropped_mid_decision_leaves_the_connection_clean() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::connect(&format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("t.db").display()
    ))
    .await
    .unwrap();
    store.migrate().await.unwrap();
    // One connection only: the next transaction gets the same one back.
    {
        let mut tx = store.begin().await.unwrap();
        add_user(&mut tx, 1).await;
    }
    let mut tx = store.begin().await.unwrap();
    assert!(
        users::by_id(&mut tx, &UserId::new("u1".into()))
            .await
            .unwrap()
            .is_none(),
        "rolled back when dropped"
    );
    add_user(&mut tx, 1).await;
    tx.commit().await.unwrap();
    let mut c = store.conn().await.unwrap();
    assert!(users::by_id(&mut c, &UserId::new("u1".into()))
        .await
        .unwrap()
        .is_some());
}
