//! One conformance suite, run against both backends: an embedded SQLite file
//! and PostgreSQL at TWOSTEP_TEST_POSTGRES (scripts/test.sh sets it); without
//! it, each PostgreSQL half says it was skipped and passes.

use std::future::Future;

use twostep_core::{UnixTime, UserId};
use twostep_store::{
    authenticators, email_tokens, failures, recovery_codes, security_log, sessions, ssh_keys,
    users, Store, StoreError,
};

fn t(secs: i64) -> UnixTime {
    UnixTime::from_secs(secs)
}

fn user_id(id: &str) -> UserId {
    UserId::new(id.to_string())
}

/// The PostgreSQL server to test against, if one is given.
fn pg_url() -> Option<String> {
    std::env::var("TWOSTEP_TEST_POSTGRES")
        .ok()
        .filter(|u| !u.is_empty())
}

/// A fresh PostgreSQL database for one test, dropped afterwards.
async fn with_postgres<F, Fut>(f: F)
where
    F: FnOnce(Store) -> Fut,
    Fut: Future<Output = ()>,
{
    use sqlx::Connection;
    let Some(base) = pg_url() else {
        eprintln!("skipped: TWOSTEP_TEST_POSTGRES is not set");
        return;
    };
    let name = format!("twostep_conf_{:016x}", rand::random::<u64>());
    let mut admin = sqlx::PgConnection::connect(&base)
        .await
        .expect("PostgreSQL must be running at TWOSTEP_TEST_POSTGRES");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut admin)
        .await
        .unwrap();
    let (prefix, _) = base.rsplit_once('/').unwrap();
    let store = Store::open(&format!("{prefix}/{name}")).await.unwrap();
    f(store.clone()).await;
    store.close().await;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE {name} WITH (FORCE)"
    )))
    .execute(&mut admin)
    .await
    .unwrap();
}

async fn with_sqlite<F, Fut>(f: F)
where
    F: FnOnce(Store) -> Fut,
    Fut: Future<Output = ()>,
{
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
    let store = Store::open(&url).await.unwrap();
    f(store.clone()).await;
    store.close().await;
}

macro_rules! conformance {
    ($name:ident, $body:expr) => {
        mod $name {
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                with_sqlite($body).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                with_postgres($body).await
            }
        }
    };
}

async fn alice(store: &Store) -> UserId {
    let id = user_id("u1");
    let mut c = store.conn().await.unwrap();
    users::insert(
        &mut c,
        users::NewUser {
            id: &id,
            username: "alice",
            email: "Alice@Example.com",
            password_hash: Some("$argon2id$…"),
            now: t(100),
        },
    )
    .await
    .unwrap();
    id
}

conformance!(
    users_are_unique_by_name_and_email,
    |store: Store| async move {
        alice(&store).await;
        let mut c = store.conn().await.unwrap();
        let dup_name = users::insert(
            &mut c,
            users::NewUser {
                id: &user_id("u2"),
                username: "alice",
                email: "x@example.com",
                password_hash: Some("h"),
                now: t(1),
            },
        )
        .await;
        assert!(
            matches!(dup_name, Err(StoreError::Conflict)),
            "{dup_name:?}"
        );
        let dup_mail = users::insert(
            &mut c,
            users::NewUser {
                id: &user_id("u3"),
                username: "bob",
                email: "alice@EXAMPLE.com",
                password_hash: Some("h"),
                now: t(1),
            },
        )
        .await;
        assert!(
            matches!(dup_mail, Err(StoreError::Conflict)),
            "{dup_mail:?}"
        );
        let u = users::by_email(&mut c, "ALICE@example.com")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(u.username, "alice");
        assert_eq!(u.email, "Alice@Example.com");
        assert!(u.two_step_enabled_at.is_none());
        users::set_two_step(&mut c, &user_id("u1"), Some(t(5)))
            .await
            .unwrap();
        users::confirm_email(&mut c, &user_id("u1"), t(6))
            .await
            .unwrap();
        let u = users::by_username(&mut c, "alice").await.unwrap().unwrap();
        assert_eq!(
            (u.two_step_enabled_at, u.email_confirmed_at),
            (Some(t(5)), Some(t(6)))
        );
        assert_eq!(users::count(&mut c).await.unwrap(), 1);
    }
);

fn new_code(id: &str, lookup: &str, hash: &str) -> recovery_codes::NewCode {
    recovery_codes::NewCode {
        id: id.into(),
        lookup: lookup.into(),
        hash: hash.into(),
    }
}

conformance!(
    a_recovery_code_is_consumed_once_under_races,
    |store: Store| async move {
        let uid = alice(&store).await;
        {
            let mut tx = store.begin().await.unwrap();
            let rows: Vec<_> = (0..6)
                .map(|i| new_code(&format!("r{i}"), &format!("l{i}"), &format!("hash{i}")))
                .collect();
            recovery_codes::replace(&mut tx, &uid, &rows, t(10))
                .await
                .unwrap();
            tx.commit().await.unwrap();
        }
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                let mut tx = store.begin().await.unwrap();
                let ok = recovery_codes::consume_id(&mut tx, "r3", t(20))
                    .await
                    .unwrap();
                tx.commit().await.unwrap();
                ok
            }));
        }
        let mut wins = 0;
        for t in tasks {
            wins += t.await.unwrap() as usize;
        }
        assert_eq!(wins, 1);
        let mut c = store.conn().await.unwrap();
        assert_eq!(recovery_codes::remaining(&mut c, &uid).await.unwrap(), 5);
        let found = recovery_codes::by_lookup(&mut c, &uid, "l3")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (found.id.as_str(), found.code_hash.as_str()),
            ("r3", "hash3")
        );
        assert_eq!(found.used_at, Some(t(20)));
        assert!(recovery_codes::by_lookup(&mut c, &uid, "zz")
            .await
            .unwrap()
            .is_none());
        // The earlier format: found and used by its keyed hash.
        assert!(recovery_codes::consume(&mut c, &uid, "hash4", t(21))
            .await
            .unwrap());
        assert!(!recovery_codes::consume(&mut c, &uid, "hash4", t(22))
            .await
            .unwrap());
        assert!(recovery_codes::used_legacy(&mut c, &uid, "hash4")
            .await
            .unwrap());
        assert!(!recovery_codes::used_legacy(&mut c, &uid, "hash5")
            .await
            .unwrap());
        assert!(!recovery_codes::consume(&mut c, &uid, "nope", t(21))
            .await
            .unwrap());
        recovery_codes::replace(&mut c, &uid, &[new_code("n1", "l1", "hash3")], t(30))
            .await
            .unwrap();
        assert_eq!(recovery_codes::remaining(&mut c, &uid).await.unwrap(), 1);
    }
);

conformance!(
    a_totp_step_is_accepted_once_under_races,
    |store: Store| async move {
        let uid = alice(&store).await;
        let mut c = store.conn().await.unwrap();
        authenticators::insert(
            &mut c,
            &authenticators::Authenticator {
                id: "a1".into(),
                user_id: uid.clone(),
                name: "phone".into(),
                secret_enc: vec![0, 1, 2, 255],
                status: authenticators::Status::Pending,
                last_step: None,
                created_at: t(1),
                activated_at: None,
                last_used_at: None,
                purpose: authenticators::Purpose::Enable,
                drift: 0,
                resync_step: None,
                resync_at: None,
                hash: authenticators::Authenticator::APP_HASH.into(),
                digits: 6,
                period: 30,
            },
        )
        .await
        .unwrap();
        drop(c);
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                let mut tx = store.begin().await.unwrap();
                let ok = authenticators::advance_step(&mut tx, "a1", 1000, None, t(5))
                    .await
                    .unwrap();
                tx.commit().await.unwrap();
                ok
            }));
        }
        let mut wins = 0;
        for t in tasks {
            wins += t.await.unwrap() as usize;
        }
        assert_eq!(wins, 1);
        let mut c = store.conn().await.unwrap();
        assert!(!authenticators::advance_step(&mut c, "a1", 999, None, t(6))
            .await
            .unwrap());
        authenticators::await_next_code(&mut c, "a1", 1005, t(6))
            .await
            .unwrap();
        assert!(
            authenticators::advance_step(&mut c, "a1", 1001, Some(-3), t(6))
                .await
                .unwrap()
        );
        authenticators::set_status(&mut c, "a1", authenticators::Status::Active, t(7))
            .await
            .unwrap();
        let a = authenticators::get(&mut c, &uid, "a1")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(a.secret_enc, vec![0, 1, 2, 255]);
        assert_eq!(
            (a.status.as_str(), a.last_step, a.activated_at),
            ("active", Some(1001), Some(t(7)))
        );
        assert_eq!((a.drift, a.resync_step, a.resync_at), (-3, None, None));
        assert!(authenticators::get(&mut c, &user_id("other"), "a1")
            .await
            .unwrap()
            .is_none());
    }
);

conformance!(
    mailed_links_work_once_and_expire,
    |store: Store| async move {
        let uid = alice(&store).await;
        let mut c = store.conn().await.unwrap();
        for (hash, exp) in [("t1", 100), ("t2", 100), ("old", 10)] {
            email_tokens::insert(
                &mut c,
                &email_tokens::EmailToken {
                    token_hash: hash.into(),
                    user_id: uid.clone(),
                    purpose: email_tokens::Purpose::ConfirmEmail,
                    subject: "alice@example.com".into(),
                    created_at: t(1),
                    expires_at: t(exp),
                    used_at: None,
                },
            )
            .await
            .unwrap();
        }
        assert!(
            email_tokens::get(&mut c, "t1", email_tokens::Purpose::ResetPassword)
                .await
                .unwrap()
                .is_none()
        );
        let confirm = email_tokens::Purpose::ConfirmEmail;
        // A link is used for its own purpose only.
        assert!(
            !email_tokens::consume(&mut c, "t1", email_tokens::Purpose::ResetPassword, t(50))
                .await
                .unwrap()
        );
        assert!(email_tokens::consume(&mut c, "t1", confirm, t(50))
            .await
            .unwrap());
        assert!(!email_tokens::consume(&mut c, "t1", confirm, t(51))
            .await
            .unwrap());
        assert!(!email_tokens::consume(&mut c, "old", confirm, t(50))
            .await
            .unwrap());
        email_tokens::void_unused(&mut c, &uid, email_tokens::Purpose::ConfirmEmail, t(52))
            .await
            .unwrap();
        assert!(!email_tokens::consume(&mut c, "t2", confirm, t(53))
            .await
            .unwrap());
        let t = email_tokens::get(&mut c, "t1", email_tokens::Purpose::ConfirmEmail)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(t.used_at, Some(super::t(50)));
    }
);

conformance!(
    sessions_expire_and_sign_out_everywhere,
    |store: Store| async move {
        let uid = alice(&store).await;
        let mut c = store.conn().await.unwrap();
        for (h, exp) in [("s1", 100), ("s2", 100), ("s3", 100)] {
            sessions::insert(
                &mut c,
                &sessions::Session {
                    token_hash: h.into(),
                    user_id: uid.clone(),
                    stage: sessions::Stage::Full,
                    created_at: t(1),
                    expires_at: t(exp),
                    sudo_until: None,
                    last_seen_at: t(10),
                    signed_in_key: None,
                },
                "192.0.2.7",
                "Firefox",
            )
            .await
            .unwrap();
        }
        let listed = sessions::list_for_user(&mut c, &uid, t(99), t(0))
            .await
            .unwrap();
        assert_eq!(listed.len(), 3);
        assert_eq!(
            (listed[0].ip.as_str(), listed[0].user_agent.as_str()),
            ("192.0.2.7", "Firefox")
        );
        assert!(sessions::list_for_user(&mut c, &uid, t(100), t(0))
            .await
            .unwrap()
            .is_empty());
        assert!(!sessions::delete_of_user(&mut c, &uid, "not-a-session")
            .await
            .unwrap());
        sessions::set_signed_in_key(&mut c, "s1", "key-7")
            .await
            .unwrap();
        assert_eq!(
            sessions::get_with_user(&mut c, "s1", t(99), t(0))
                .await
                .unwrap()
                .unwrap()
                .0
                .signed_in_key
                .as_deref(),
            Some("key-7")
        );
        assert!(sessions::get(&mut c, "s1", t(99), t(0))
            .await
            .unwrap()
            .is_some());
        assert!(sessions::get(&mut c, "s1", t(100), t(0))
            .await
            .unwrap()
            .is_none());
        let (s1, owner) = sessions::get_with_user(&mut c, "s1", t(99), t(0))
            .await
            .unwrap()
            .expect("a live session comes with its user");
        assert_eq!((s1.token_hash.as_str(), &s1.user_id), ("s1", &owner.id));
        assert_eq!(owner.id, uid);
        assert!(sessions::get_with_user(&mut c, "s1", t(100), t(0))
            .await
            .unwrap()
            .is_none());
        // Idle since before the cut-off: gone, until a use is recorded.
        assert!(sessions::get(&mut c, "s1", t(50), t(10))
            .await
            .unwrap()
            .is_none());
        sessions::touch(&mut c, "s1", t(40)).await.unwrap();
        assert!(sessions::get(&mut c, "s1", t(50), t(10))
            .await
            .unwrap()
            .is_some());
        assert_eq!(
            sessions::delete_for_user(&mut c, &uid, Some("s2"))
                .await
                .unwrap(),
            2
        );
        assert!(sessions::get(&mut c, "s2", t(50), t(0))
            .await
            .unwrap()
            .is_some());
        assert_eq!(
            sessions::delete_expired(&mut c, t(200), t(0))
                .await
                .unwrap(),
            1
        );
    }
);

conformance!(
    ssh_keys_are_unique_across_accounts,
    |store: Store| async move {
        let uid = alice(&store).await;
        let mut c = store.conn().await.unwrap();
        let key = ssh_keys::SshKey {
            id: "k1".into(),
            user_id: uid.clone(),
            title: "laptop".into(),
            algorithm: "ssh-ed25519".into(),
            public_key: "ssh-ed25519 AAAA".into(),
            fingerprint: "SHA256:abc".into(),
            bits: 256,
            created_at: t(1),
            last_used_at: None,
            options: "verify-required".into(),
            sk_counter: None,
        };
        ssh_keys::insert(&mut c, &key).await.unwrap();
        // A FIDO key's counter: the highest one is kept, the one before told.
        assert_eq!(
            ssh_keys::record_counter(&mut c, "k1", 5).await.unwrap(),
            None
        );
        assert_eq!(
            ssh_keys::record_counter(&mut c, "k1", 3).await.unwrap(),
            Some(5)
        );
        assert_eq!(
            ssh_keys::record_counter(&mut c, "k1", 9).await.unwrap(),
            Some(5)
        );
        let stored = ssh_keys::by_id(&mut c, "k1").await.unwrap().unwrap();
        assert_eq!(
            (stored.sk_counter, stored.options.as_str()),
            (Some(9), "verify-required")
        );
        let again = ssh_keys::insert(
            &mut c,
            &ssh_keys::SshKey {
                id: "k2".into(),
                ..key.clone()
            },
        )
        .await;
        assert!(matches!(again, Err(StoreError::Conflict)));
        assert_eq!(ssh_keys::count_for_user(&mut c, &uid).await.unwrap(), 1);
        assert_eq!(
            ssh_keys::by_fingerprint(&mut c, "SHA256:abc")
                .await
                .unwrap()
                .unwrap()
                .id,
            "k1"
        );
        assert!(ssh_keys::delete(&mut c, &user_id("someone-else"), "k1")
            .await
            .unwrap()
            .is_none());
        assert_eq!(
            ssh_keys::delete(&mut c, &uid, "k1")
                .await
                .unwrap()
                .unwrap()
                .title,
            "laptop"
        );
        assert!(ssh_keys::for_user(&mut c, &uid).await.unwrap().is_empty());
    }
);

conformance!(
    failures_are_counted_in_a_window_and_the_log_keeps_order,
    |store: Store| async move {
        let uid = alice(&store).await;
        let mut c = store.conn().await.unwrap();
        for (i, at) in [10, 20, 30, 40].iter().enumerate() {
            failures::record(&mut c, &format!("f{i}"), &uid, t(*at), "web")
                .await
                .unwrap();
        }
        assert_eq!(failures::count_since(&mut c, &uid, t(15)).await.unwrap(), 3);
        failures::clear(&mut c, &uid).await.unwrap();
        assert_eq!(failures::count_since(&mut c, &uid, t(0)).await.unwrap(), 0);
        users::set_locked_until(&mut c, &uid, Some(t(999)))
            .await
            .unwrap();
        assert_eq!(
            users::by_id(&mut c, &uid)
                .await
                .unwrap()
                .unwrap()
                .second_step_locked_until,
            Some(t(999))
        );
        for ev in ["first", "second", "third"] {
            security_log::append(
                &mut c,
                security_log::NewEntry {
                    user_id: &uid,
                    at: t(5),
                    event: ev,
                    detail: "",
                    channel: "web",
                    ip: "127.0.0.1",
                },
            )
            .await
            .unwrap();
        }
        let log = security_log::recent(&mut c, &uid, 2).await.unwrap();
        assert_eq!(
            log.iter().map(|e| e.event.as_str()).collect::<Vec<_>>(),
            ["third", "second"]
        );
    }
);

conformance!(
    a_rolled_back_decision_leaves_nothing,
    |store: Store| async move {
        let uid = alice(&store).await;
        {
            let mut tx = store.begin().await.unwrap();
            users::set_two_step(&mut tx, &uid, Some(t(1)))
                .await
                .unwrap();
            recovery_codes::replace(&mut tx, &uid, &[new_code("r", "l", "h")], t(1))
                .await
                .unwrap();
            // Dropped without commit, as when the process dies mid-decision.
        }
        let mut c = store.conn().await.unwrap();
        assert!(users::by_id(&mut c, &uid)
            .await
            .unwrap()
            .unwrap()
            .two_step_enabled_at
            .is_none());
        assert_eq!(recovery_codes::remaining(&mut c, &uid).await.unwrap(), 0);
    }
);

conformance!(
    repositories_collaborators_and_listing,
    |store: Store| async move {
        use twostep_store::repositories::{self as repos, Repository};
        let uid = alice(&store).await;
        let mut c = store.conn().await.unwrap();
        users::insert(
            &mut c,
            users::NewUser {
                id: &user_id("u2"),
                username: "bob",
                email: "bob@example.com",
                password_hash: Some("h"),
                now: t(1),
            },
        )
        .await
        .unwrap();
        let repo = Repository {
            id: "r1".into(),
            owner_id: uid.clone(),
            name: "proj".into(),
            description: "d".into(),
            is_private: true,
            created_at: t(5),
        };
        repos::insert(&mut c, &repo).await.unwrap();
        let dup = repos::insert(
            &mut c,
            &Repository {
                id: "r2".into(),
                ..repo.clone()
            },
        )
        .await;
        assert!(matches!(dup, Err(StoreError::Conflict)));
        repos::insert(
            &mut c,
            &Repository {
                id: "r3".into(),
                owner_id: user_id("u2"),
                name: "proj".into(),
                ..repo.clone()
            },
        )
        .await
        .unwrap();
        assert_eq!(
            repos::by_owner_and_name(&mut c, "alice", "proj")
                .await
                .unwrap()
                .unwrap()
                .id,
            "r1"
        );
        assert!(repos::by_owner_and_name(&mut c, "alice", "nope")
            .await
            .unwrap()
            .is_none());
        repos::set_collaborator(&mut c, "r3", &uid, repos::READ, t(6))
            .await
            .unwrap();
        repos::set_collaborator(&mut c, "r3", &uid, repos::WRITE, t(7))
            .await
            .unwrap();
        assert_eq!(
            repos::collaborator_access(&mut c, "r3", &uid)
                .await
                .unwrap()
                .as_deref(),
            Some("write")
        );
        let seen = repos::visible_to(&mut c, &uid).await.unwrap();
        let names: Vec<_> = seen
            .iter()
            .map(|r| (r.owner.as_str(), r.name.as_str(), r.access.as_str()))
            .collect();
        assert_eq!(
            names,
            [("alice", "proj", "owner"), ("bob", "proj", "write")]
        );
        assert_eq!(
            repos::collaborators(&mut c, "r3").await.unwrap(),
            [("alice".to_string(), "write".to_string())]
        );
        assert_eq!(
            repos::remove_collaborator(&mut c, "r3", &uid)
                .await
                .unwrap(),
            1
        );
        assert_eq!(repos::delete(&mut c, "r1").await.unwrap(), 1);
        assert_eq!(repos::visible_to(&mut c, &uid).await.unwrap().len(), 0);
    }
);

conformance!(
    app_passwords_by_hash_touch_and_revoke,
    |store: Store| async move {
        use twostep_store::app_passwords::{self as ap, AppPassword};
        let uid = alice(&store).await;
        let mut c = store.conn().await.unwrap();
        let row = AppPassword {
            id: "a1".into(),
            user_id: uid.clone(),
            label: "laptop".into(),
            token_hash: "hash1".into(),
            scopes: "repository:read".into(),
            created_at: t(1),
            last_used_at: None,
            expires_at: t(100),
        };
        ap::insert(&mut c, &row).await.unwrap();
        // Due for its reminder once, in the week before it expires.
        assert!(ap::due_reminders(&mut c, t(1), t(99))
            .await
            .unwrap()
            .is_empty());
        let due = ap::due_reminders(&mut c, t(1), t(100)).await.unwrap();
        assert_eq!(due.len(), 1);
        assert!(ap::mark_reminded(&mut c, "a1", t(2)).await.unwrap());
        assert!(!ap::mark_reminded(&mut c, "a1", t(3)).await.unwrap());
        assert!(ap::due_reminders(&mut c, t(1), t(100))
            .await
            .unwrap()
            .is_empty());
        assert!(matches!(
            ap::insert(
                &mut c,
                &AppPassword {
                    id: "a2".into(),
                    ..row.clone()
                }
            )
            .await,
            Err(StoreError::Conflict)
        ));
        ap::touch(&mut c, "a1", t(9)).await.unwrap();
        let (found, owner) = ap::by_hash_with_user(&mut c, "hash1")
            .await
            .unwrap()
            .expect("found with its owner");
        assert_eq!((found.last_used_at, &found.user_id), (Some(t(9)), &uid));
        assert_eq!(owner.id, uid);
        assert!(ap::delete(&mut c, &user_id("someone-else"), "a1")
            .await
            .unwrap()
            .is_none());
        assert_eq!(
            ap::delete(&mut c, &uid, "a1").await.unwrap().unwrap().label,
            "laptop"
        );
        assert!(ap::by_hash_with_user(&mut c, "hash1")
            .await
            .unwrap()
            .is_none());
        assert!(ap::for_user(&mut c, &uid).await.unwrap().is_empty());
    }
);

conformance!(
    one_recovery_request_ends_once_and_mirrors_into_the_account,
    |store: Store| async move {
        use twostep_store::recovery_requests::{self as rr, Outcome, Proof, Request};
        let uid = alice(&store).await;
        let mut c = store.conn().await.unwrap();
        assert!(rr::open_for(&mut c, &uid).await.unwrap().is_none());
        let r = Request {
            id: "rr1".into(),
            user_id: uid.clone(),
            proof: Proof::None,
            started_at: t(100),
            ready_at: t(100 + 72 * 3600),
            reminded_at: t(100),
        };
        rr::insert(&mut c, &r).await.unwrap();
        let user = users::by_id(&mut c, &uid).await.unwrap().unwrap();
        assert_eq!(user.recovery_ready_at, Some(r.ready_at));
        rr::strengthen(&mut c, &r, Proof::SshKey, t(100 + 24 * 3600))
            .await
            .unwrap();
        let open = rr::open_for(&mut c, &uid).await.unwrap().unwrap();
        assert_eq!(
            (open.proof, open.ready_at),
            (Proof::SshKey, t(100 + 24 * 3600))
        );
        assert_eq!(rr::started_since(&mut c, &uid, t(99)).await.unwrap(), 1);
        assert_eq!(rr::due_reminders(&mut c, t(100)).await.unwrap().len(), 1);
        rr::reminded(&mut c, "rr1", t(200)).await.unwrap();
        assert!(rr::due_reminders(&mut c, t(100)).await.unwrap().is_empty());
        drop(c);
        let mut tasks = Vec::new();
        for _ in 0..6 {
            let (store, open) = (store.clone(), open.clone());
            tasks.push(tokio::spawn(async move {
                let mut tx = store.begin().await.unwrap();
                let won = rr::end(&mut tx, &open, Outcome::Cancelled, "test", t(300))
                    .await
                    .unwrap();
                tx.commit().await.unwrap();
                won
            }));
        }
        let mut wins = 0;
        for task in tasks {
            wins += task.await.unwrap() as usize;
        }
        assert_eq!(wins, 1, "a request ends once");
        let mut c = store.conn().await.unwrap();
        assert!(rr::open_for(&mut c, &uid).await.unwrap().is_none());
        let user = users::by_id(&mut c, &uid).await.unwrap().unwrap();
        assert_eq!(user.recovery_ready_at, None);
        // The newest mailed link of a purpose, for the mail throttle.
        assert_eq!(
            email_tokens::newest(&mut c, &uid, email_tokens::Purpose::StartRecovery)
                .await
                .unwrap(),
            None
        );
        for (hash, at) in [("x1", 10), ("x2", 30)] {
            email_tokens::insert(
                &mut c,
                &email_tokens::EmailToken {
                    token_hash: hash.into(),
                    user_id: uid.clone(),
                    purpose: email_tokens::Purpose::StartRecovery,
                    subject: "none".into(),
                    created_at: t(at),
                    expires_at: t(at + 3600),
                    used_at: None,
                },
            )
            .await
            .unwrap();
        }
        assert_eq!(
            email_tokens::newest(&mut c, &uid, email_tokens::Purpose::StartRecovery)
                .await
                .unwrap(),
            Some(t(30))
        );
    }
);

async fn insert_user(store: &Store, id: &str, name: &str) -> UserId {
    let uid = user_id(id);
    let mut c = store.conn().await.unwrap();
    users::insert(
        &mut c,
        users::NewUser {
            id: &uid,
            username: name,
            email: &format!("{name}@example.com"),
            password_hash: Some("h"),
            now: t(100),
        },
    )
    .await
    .unwrap();
    uid
}

conformance!(
    the_admin_list_filters_and_pages_by_username,
    |store: Store| async move {
        let a = alice(&store).await;
        let b = insert_user(&store, "u2", "bob_x").await;
        let c3 = insert_user(&store, "u3", "bobby").await;
        let mut c = store.conn().await.unwrap();
        users::set_two_step(&mut c, &a, Some(t(200))).await.unwrap();
        users::set_locked_until(&mut c, &b, Some(t(1_000)))
            .await
            .unwrap();
        users::set_admin(&mut c, &a, true, None, t(1))
            .await
            .unwrap();
        let names = |v: Vec<users::User>| v.into_iter().map(|u| u.username).collect::<Vec<_>>();
        let all = users::Filter::default();
        assert_eq!(
            names(users::list(&mut c, &all, t(500), 50).await.unwrap()),
            ["alice", "bob_x", "bobby"]
        );
        let on = users::Filter {
            two_step: Some(true),
            ..Default::default()
        };
        assert_eq!(
            names(users::list(&mut c, &on, t(500), 50).await.unwrap()),
            ["alice"]
        );
        let off = users::Filter {
            two_step: Some(false),
            ..Default::default()
        };
        assert_eq!(
            names(users::list(&mut c, &off, t(500), 50).await.unwrap()),
            ["bob_x", "bobby"]
        );
        let locked = users::Filter {
            locked: true,
            ..Default::default()
        };
        assert_eq!(
            names(users::list(&mut c, &locked, t(500), 50).await.unwrap()),
            ["bob_x"]
        );
        assert!(
            users::list(&mut c, &locked, t(2_000), 50)
                .await
                .unwrap()
                .is_empty(),
            "the lock ran out"
        );
        // `_` in a prefix is matched as itself, not as any character.
        let prefix = users::Filter {
            prefix: "bob_".into(),
            ..Default::default()
        };
        assert_eq!(
            names(users::list(&mut c, &prefix, t(500), 50).await.unwrap()),
            ["bob_x"]
        );
        let page2 = users::Filter {
            after: "alice".into(),
            ..Default::default()
        };
        assert_eq!(
            names(users::list(&mut c, &page2, t(500), 1).await.unwrap()),
            ["bob_x"]
        );
        assert_eq!(names(users::admins(&mut c).await.unwrap()), ["alice"]);
        // Turning two-step on clears an administrator's reset mark.
        users::mark_two_step_reset(&mut c, &c3, t(300))
            .await
            .unwrap();
        assert_eq!(
            users::by_id(&mut c, &c3)
                .await
                .unwrap()
                .unwrap()
                .two_step_reset_at,
            Some(t(300))
        );
        users::set_two_step(&mut c, &c3, Some(t(400)))
            .await
            .unwrap();
        assert_eq!(
            users::by_id(&mut c, &c3)
                .await
                .unwrap()
                .unwrap()
                .two_step_reset_at,
            None
        );
    }
);

conformance!(
    one_open_approval_per_account_decided_once,
    |store: Store| async move {
        use twostep_store::admin::{
            self, Approval, ApprovalAction, ApprovalOutcome, NewAuditEntry,
        };
        let a = alice(&store).await;
        let b = insert_user(&store, "u2", "bob").await;
        let mut c = store.conn().await.unwrap();
        let ask = |id: &str, at: i64| Approval {
            id: id.into(),
            action: ApprovalAction::ResetTwoStep,
            target_id: b.clone(),
            requested_by: a.clone(),
            reason: "lost phone".into(),
            created_at: t(at),
            expires_at: t(at + 100),
        };
        admin::request(&mut c, &ask("p1", 0)).await.unwrap();
        assert!(matches!(
            admin::request(&mut c, &ask("p2", 10)).await,
            Err(StoreError::Conflict)
        ));
        assert_eq!(admin::open(&mut c, t(50)).await.unwrap().len(), 1);
        // Two admins approve at once: one wins.
        let (s1, s2) = (store.clone(), store.clone());
        let (a1, a2) = (a.clone(), a.clone());
        let r1 = tokio::spawn(async move {
            let mut tx = s1.begin().await.unwrap();
            let won = admin::decide(&mut tx, "p1", Some(&a1), ApprovalOutcome::Approved, t(60))
                .await
                .unwrap();
            tx.commit().await.unwrap();
            won
        });
        let r2 = tokio::spawn(async move {
            let mut tx = s2.begin().await.unwrap();
            let won = admin::decide(&mut tx, "p1", Some(&a2), ApprovalOutcome::Cancelled, t(60))
                .await
                .unwrap();
            tx.commit().await.unwrap();
            won
        });
        let (w1, w2) = (r1.await.unwrap(), r2.await.unwrap());
        assert!(w1 ^ w2, "exactly one decision: {w1} {w2}");
        assert!(admin::open_by_id(&mut c, "p1", t(61))
            .await
            .unwrap()
            .is_none());
        // Decided, a new request may open; past its time it expires.
        admin::request(&mut c, &ask("p3", 200)).await.unwrap();
        assert!(
            admin::open_by_id(&mut c, "p3", t(400))
                .await
                .unwrap()
                .is_none(),
            "expired"
        );
        assert_eq!(admin::expire(&mut c, t(400)).await.unwrap(), 1);
        admin::request(&mut c, &ask("p4", 500)).await.unwrap();

        for (i, action) in ["admin.granted", "two_step.reset", "second_step.unlocked"]
            .iter()
            .enumerate()
        {
            admin::append(
                &mut c,
                NewAuditEntry {
                    at: t(i as i64),
                    actor_id: if i == 0 { None } else { Some(&a) },
                    actor: if i == 0 {
                        "the server's command line"
                    } else {
                        "alice"
                    },
                    target_id: Some(&b),
                    target: "bob",
                    action,
                    reason: "why",
                    channel: "cli",
                    ip: "local",
                },
            )
            .await
            .unwrap();
        }
        let newest = admin::audit_page(&mut c, None, 2).await.unwrap();
        assert_eq!(
            newest.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(),
            ["second_step.unlocked", "two_step.reset"]
        );
        let older = admin::audit_page(&mut c, Some(newest[1].seq), 2)
            .await
            .unwrap();
        assert_eq!(
            (
                older.len(),
                older[0].action.as_str(),
                older[0].actor_id.is_none()
            ),
            (1, "admin.granted", true)
        );
    }
);

conformance!(
    workspaces_members_repositories_and_policy,
    |store: Store| async move {
        use twostep_store::workspaces::{self as ws, Role, Workspace, WorkspaceRepo};
        let a = alice(&store).await;
        let b = insert_user(&store, "u2", "bob").await;
        let mut c = store.conn().await.unwrap();
        let w = Workspace {
            id: "w1".into(),
            name: "acme".into(),
            created_by: a.clone(),
            created_at: t(1),
            two_step_required_at: None,
            two_step_enforced_at: None,
            two_step_level: "two_step".into(),
            allowed_aaguids: String::new(),
            two_step_floor_at: None,
            ssh_key_rule: "any".into(),
            ssh_certificates_required: false,
        };
        ws::insert(&mut c, &w).await.unwrap();
        assert!(matches!(
            ws::insert(
                &mut c,
                &Workspace {
                    id: "w2".into(),
                    ..w.clone()
                }
            )
            .await,
            Err(StoreError::Conflict)
        ));
        ws::set_member(&mut c, "w1", &a, Role::Admin, t(1))
            .await
            .unwrap();
        ws::set_member(&mut c, "w1", &b, Role::Read, t(2))
            .await
            .unwrap();
        ws::set_member(&mut c, "w1", &b, Role::Write, t(3))
            .await
            .unwrap();
        assert_eq!(
            ws::role_of(&mut c, "w1", &b).await.unwrap(),
            Some(Role::Write)
        );
        let members = ws::members(&mut c, "w1").await.unwrap();
        assert_eq!(
            members
                .iter()
                .map(|m| (m.username.as_str(), m.role))
                .collect::<Vec<_>>(),
            [("alice", Role::Admin), ("bob", Role::Write)]
        );
        ws::set_policy(
            &mut c,
            "w1",
            ws::PolicyRow {
                required_at: Some(t(10)),
                enforced_at: Some(t(20)),
                level: "phishing_resistant",
                aaguids: "cb69481e-8ff7-4039-93ec-0a2729a154a8",
                floor_at: Some(t(15)),
            },
        )
        .await
        .unwrap();
        ws::set_ssh_rules(&mut c, "w1", "fido_verified", true)
            .await
            .unwrap();
        let stored = ws::by_name(&mut c, "acme").await.unwrap().unwrap();
        assert_eq!(stored.two_step_floor_at, Some(t(15)));
        assert_eq!(
            (
                stored.two_step_level.as_str(),
                stored.allowed_aaguids.as_str(),
                stored.ssh_key_rule.as_str(),
                stored.ssh_certificates_required
            ),
            (
                "phishing_resistant",
                "cb69481e-8ff7-4039-93ec-0a2729a154a8",
                "fido_verified",
                true
            )
        );
        let mine = ws::of_user(&mut c, &b).await.unwrap();
        assert_eq!(
            (
                mine[0].name.as_str(),
                mine[0].role,
                mine[0].two_step_enforced_at
            ),
            ("acme", Role::Write, Some(t(20)))
        );
        let repo = WorkspaceRepo {
            id: "r1".into(),
            workspace_id: "w1".into(),
            name: "site".into(),
            description: String::new(),
            is_private: true,
            created_by: b.clone(),
            created_at: t(4),
        };
        ws::insert_repo(&mut c, &repo).await.unwrap();
        assert!(matches!(
            ws::insert_repo(
                &mut c,
                &WorkspaceRepo {
                    id: "r2".into(),
                    ..repo.clone()
                }
            )
            .await,
            Err(StoreError::Conflict)
        ));
        assert_eq!(
            ws::repo(&mut c, "w1", "site").await.unwrap().unwrap().id,
            "r1"
        );
        assert_eq!(ws::repos(&mut c, "w1").await.unwrap().len(), 1);
        assert_eq!(ws::remove_member(&mut c, "w1", &b).await.unwrap(), 1);
        assert_eq!(ws::role_of(&mut c, "w1", &b).await.unwrap(), None);

        // Certificate authorities: found by key, removed ones kept and marked.
        use twostep_store::ssh_cas::{self, SshCa};
        let ca = SshCa {
            id: "ca1".into(),
            workspace_id: "w1".into(),
            title: "CI".into(),
            public_key: "ssh-ed25519 AAAA".into(),
            fingerprint: "SHA256:ca".into(),
            created_by: a.clone(),
            created_at: t(5),
            removed_at: None,
        };
        ssh_cas::insert(&mut c, &ca).await.unwrap();
        assert_eq!(
            ssh_cas::by_fingerprint(&mut c, "SHA256:ca")
                .await
                .unwrap()
                .len(),
            1
        );
        assert!(!ssh_cas::remove(&mut c, "w2", "ca1", t(6)).await.unwrap());
        assert!(ssh_cas::remove(&mut c, "w1", "ca1", t(6)).await.unwrap());
        assert!(!ssh_cas::remove(&mut c, "w1", "ca1", t(7)).await.unwrap());
        let kept = ssh_cas::of_workspace(&mut c, "w1").await.unwrap();
        assert_eq!(kept[0].removed_at, Some(t(6)));
    }
);

conformance!(
    a_hardware_token_is_imported_once_and_assigned_once,
    |store: Store| async move {
        use twostep_store::hardware_tokens::{self as ht, Token};
        let a = alice(&store).await;
        let b = insert_user(&store, "u2", "bob").await;
        let mut c = store.conn().await.unwrap();
        let tok = Token {
            serial: "TS1".into(),
            manufacturer: "Acme".into(),
            secret_enc: vec![1, 2, 3],
            hash: "sha256".into(),
            digits: 8,
            period: 60,
            imported_at: t(1),
            assigned_to: None,
            assigned_at: None,
        };
        assert!(ht::insert(&mut c, &tok).await.unwrap());
        assert!(
            !ht::insert(&mut c, &tok).await.unwrap(),
            "a second import leaves it"
        );
        assert!(ht::insert(
            &mut c,
            &Token {
                serial: "TS2".into(),
                ..tok.clone()
            }
        )
        .await
        .unwrap());
        assert_eq!(ht::counts(&mut c).await.unwrap(), (2, 2));
        assert!(ht::assign(&mut c, "TS1", &a, "auth1", t(5)).await.unwrap());
        assert!(
            !ht::assign(&mut c, "TS1", &b, "auth2", t(6)).await.unwrap(),
            "assigned once"
        );
        let got = ht::by_serial(&mut c, "TS1").await.unwrap().unwrap();
        assert_eq!((got.assigned_to, got.digits, got.period), (Some(a), 8, 60));
        assert_eq!(ht::counts(&mut c).await.unwrap(), (2, 1));
    }
);

conformance!(
    a_name_is_held_until_its_transaction_ends,
    |store: Store| async move {
        let mut tx1 = store.begin().await.unwrap();
        users::lock_name(&mut tx1, "acme").await.unwrap();
        users::insert(
            &mut tx1,
            users::NewUser {
                id: &user_id("u9"),
                username: "acme",
                email: "acme@example.com",
                password_hash: Some("h"),
                now: t(1),
            },
        )
        .await
        .unwrap();
        let s2 = store.clone();
        // A second taker of the name (a workspace, say) on another connection.
        let second = tokio::spawn(async move {
            let mut tx2 = s2.begin().await.unwrap();
            users::lock_name(&mut tx2, "acme").await.unwrap();
            let seen = users::by_username(&mut tx2, "acme")
                .await
                .unwrap()
                .is_some();
            tx2.commit().await.unwrap();
            seen
        });
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        tx1.commit().await.unwrap();
        assert!(
            second.await.unwrap(),
            "the second taker waited and saw the first"
        );
    }
);

conformance!(
    every_table_is_a_bearer_credential_ended_by_revoke_all_or_said_not_to_be,
    |store: Store| async move {
        use twostep_store::credentials::{self, BEARER_TABLES, OTHER_TABLES};
        let tables = credentials::schema_tables(&store).await.unwrap();
        assert!(tables.len() > 20, "{tables:?}");
        for table in &tables {
            let known = BEARER_TABLES.contains(&table.as_str())
                || OTHER_TABLES.iter().any(|(t, _)| t == table);
            assert!(
                known,
                "the table {table} is new: if it holds something a caller presents to act as an \
                 account, end it in credentials::revoke_all and list it in BEARER_TABLES; else \
                 say why not in OTHER_TABLES"
            );
        }
        for t in BEARER_TABLES {
            assert!(tables.iter().any(|x| x == t), "{t} is not in the schema");
        }
    }
);

conformance!(
    revoke_all_ends_every_bearer_credential_of_one_account_only,
    |store: Store| async move {
        use twostep_store::security_keys::{self, Ceremony, NewState};
        use twostep_store::{app_passwords, credentials, oauth};
        let a = alice(&store).await;
        let b = insert_user(&store, "u2", "bob").await;
        let now = t(1_000);
        let mut c = store.conn().await.unwrap();
        oauth::insert_app(
            &mut c,
            &oauth::App {
                id: "app".into(),
                owner_id: b.clone(),
                name: "tool".into(),
                redirect_uris: "https://x/cb".into(),
                confidential: false,
                secret_hash: None,
                created_at: now,
            },
        )
        .await
        .unwrap();
        for user in [&a, &b] {
            let n = user.as_str();
            for (i, token) in ["s1", "s2"].iter().enumerate() {
                sessions::insert(
                    &mut c,
                    &sessions::Session {
                        token_hash: format!("{n}{token}"),
                        user_id: user.clone(),
                        stage: sessions::Stage::Full,
                        created_at: now,
                        expires_at: now + 3600 + i as i64,
                        sudo_until: None,
                        last_seen_at: now,
                        signed_in_key: None,
                    },
                    "",
                    "",
                )
                .await
                .unwrap();
            }
            app_passwords::insert(
                &mut c,
                &app_passwords::AppPassword {
                    id: format!("{n}ap"),
                    user_id: user.clone(),
                    label: "ci".into(),
                    token_hash: format!("{n}aph"),
                    scopes: "repository:read".into(),
                    created_at: now,
                    last_used_at: None,
                    expires_at: now + 3600,
                },
            )
            .await
            .unwrap();
            let grant = format!("{n}g");
            oauth::insert_grant(
                &mut c,
                &oauth::Grant {
                    id: grant.clone(),
                    app_id: "app".into(),
                    user_id: user.clone(),
                    scopes: "repository:read".into(),
                    created_at: now,
                    revoked_at: None,
                    expires_at: now + 3600,
                },
            )
            .await
            .unwrap();
            oauth::insert_code(
                &mut c,
                &format!("{n}code"),
                &grant,
                "https://x/cb",
                "ch",
                now + 60,
            )
            .await
            .unwrap();
            oauth::insert_token(&mut c, &format!("{n}at"), &grant, "access", now + 3600)
                .await
                .unwrap();
            oauth::insert_token(&mut c, &format!("{n}rt"), &grant, "refresh", now + 86_400)
                .await
                .unwrap();
            let device = format!("{n}dev");
            assert!(oauth::insert_device(
                &mut c,
                &oauth::Device {
                    device_hash: device.clone(),
                    user_code: format!("{n}-CODE"),
                    app_id: "app".into(),
                    scopes: "repository:read".into(),
                    expires_at: now + 600,
                    polled_at: None,
                    grant_id: None,
                    denied: 0,
                },
                now,
            )
            .await
            .unwrap());
            assert!(oauth::decide_device(&mut c, &device, Some(&grant))
                .await
                .unwrap());
            email_tokens::insert(
                &mut c,
                &email_tokens::EmailToken {
                    token_hash: format!("{n}link"),
                    user_id: user.clone(),
                    purpose: email_tokens::Purpose::ApproveSsh,
                    subject: "codes".into(),
                    created_at: now,
                    expires_at: now + 600,
                    used_at: None,
                },
            )
            .await
            .unwrap();
            security_keys::save_state(
                &mut c,
                NewState {
                    id: &format!("{n}cer"),
                    user_id: user,
                    session_hash: &format!("{n}s1"),
                    kind: Ceremony::Register,
                    name: "key",
                    state: "{}",
                    expires_at: now + 300,
                },
            )
            .await
            .unwrap();
        }
        let live = credentials::live(&mut c, &a, now).await.unwrap();
        assert_eq!(live.len(), credentials::BEARER_TABLES.len());
        for (table, n) in &live {
            assert!(*n > 0, "the test made no {table} for alice: {live:?}");
        }
        let mut tx = store.begin().await.unwrap();
        let r = credentials::revoke_all(&mut tx, &a, now, Some("u1s2"))
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert_eq!((r.sessions, r.app_passwords, r.oauth_grants), (1, 1, 1));
        let after = credentials::live(&mut c, &a, now).await.unwrap();
        for (table, n) in &after {
            let kept = if *table == "sessions" { 1 } else { 0 };
            assert_eq!(*n, kept, "{table} of alice after revoke_all: {after:?}");
        }
        // The SSH approval link is gone, not approved (a used one reads as approved).
        let link = email_tokens::get(&mut c, "u1link", email_tokens::Purpose::ApproveSsh)
            .await
            .unwrap()
            .unwrap();
        assert!(link.used_at.is_none() && link.expires_at <= now);
        // Bob keeps everything.
        let bob = credentials::live(&mut c, &b, now).await.unwrap();
        assert!(bob.iter().all(|(_, n)| *n > 0), "{bob:?}");
    }
);
