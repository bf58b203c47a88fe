//! The `MetadataStore` contract as one test body, run against every implementation (the way neon's
//! `remote_storage` runs one suite against every backend): ordering, cursors, refusals and their errors,
//! and the compare-and-set steps under concurrent callers. A new store passes this before it is wired in.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;

use stowage_core::model::{Action, Bucket, BucketType, Checksums, Content, DailyUsage, Encryption, FileVersion, KmsKey, Part, PartRef};
use stowage_core::store::{FinishPlan, LatestCheck, ListCursor, MetadataStore};
use stowage_core::{Error, Result};

pub(crate) fn bucket(id: &str, name: &str) -> Bucket {
    Bucket {
        id: id.into(),
        name: name.into(),
        bucket_type: BucketType::AllPrivate,
        info: Default::default(),
        cors_rules: vec![],
        lifecycle_rules: vec![],
        s3_lifecycle: vec![],
        default_encryption: Encryption::None,
        file_lock_enabled: false,
        default_retention: None,
        notification_rules: vec![],
        tags: Default::default(),
        versioning: Default::default(),
        access: Default::default(),
        revision: 1,
        created: 0,
    }
}

pub(crate) fn version(bucket_id: &str, name: &str, file_id: &str, action: Action) -> FileVersion {
    FileVersion {
        file_id: file_id.into(),
        bucket_id: bucket_id.into(),
        name: name.into(),
        action,
        size: 0,
        sha1: None,
        md5: None,
        content_type: "b2/x-auto".into(),
        info: BTreeMap::new(),
        upload_timestamp: 0,
        encryption: Encryption::None,
        retention: None,
        legal_hold: None,
        content: if action == Action::Upload { Content::Blob { id: format!("blob-{file_id}"), salt: None } } else { Content::Empty },
        tags: BTreeMap::new(),
        checksums: Checksums::new(),
        null_version: false,
        grants: Vec::new(),
        checksum_algorithm: None,
        checksum_full_object: false,
    }
}

fn part(file_id: &str, number: u32, blob: &str) -> Part {
    Part {
        file_id: file_id.into(),
        part_number: number,
        size: 10,
        sha1: format!("sha1-{blob}"),
        md5: "00".into(),
        blob_id: blob.into(),
        upload_timestamp: 0,
        salt: None,
        checksums: Checksums::new(),
    }
}

/// Runs every check, each on a fresh store from `fresh`.
pub(crate) async fn check_all<S, F, Fut>(fresh: F)
where
    S: MetadataStore + 'static,
    F: Fn() -> Fut,
    Fut: Future<Output = Arc<S>>,
{
    bucket_names(fresh().await).await;
    bucket_revisions(fresh().await).await;
    version_order_and_cursors(fresh().await).await;
    deletes_and_changes(fresh().await).await;
    large_file_states(fresh().await).await;
    shared_state(fresh().await).await;
    inserts_fail_alone(fresh().await).await;
    conditional_inserts(fresh().await).await;
    kms_keys(fresh().await).await;
    every_field_is_kept(fresh().await).await;
    identity_counts_collection_and_scans(fresh().await).await;
}

/// The identity is made once and read back the same; `count_versions` counts every version of a bucket
/// (hide markers and unfinished large files too); the collection queue holds a blob once until it is
/// forgotten; `scan_versions` pages through a prefix in (name, newest first) order after an exclusive cursor.
async fn identity_counts_collection_and_scans<S: MetadataStore + 'static>(store: Arc<S>) {
    let first = store.identity().await.expect("identity");
    let again = store.identity().await.expect("identity");
    assert!(!first.account_id.is_empty() && first.token_secret.len() >= 32, "a made identity: {first:?}");
    assert_eq!((first.account_id, first.token_secret), (again.account_id, again.token_secret), "made once");

    store.create_bucket(&bucket("b1", "scanned"), 10).await.expect("create");
    store.create_bucket(&bucket("b2", "beside"), 10).await.expect("create");
    for v in [
        version("b1", "a/1", "f1", Action::Upload),
        version("b1", "a/2", "f2", Action::Hide),
        version("b1", "a/1", "f3", Action::Upload),
        version("b1", "b/1", "f4", Action::Upload),
        version("b1", "a/3", "f5", Action::Start),
        version("b2", "a/1", "f6", Action::Upload),
    ] {
        store.insert_version(&v).await.expect("insert");
    }
    assert_eq!(store.count_versions("b1").await.expect("count"), 5);
    assert_eq!(store.count_versions("b2").await.expect("count"), 1);
    assert_eq!(store.count_versions("none").await.expect("count"), 0);

    let ids = |vs: Vec<FileVersion>| vs.into_iter().map(|v| (v.name, v.file_id)).collect::<Vec<_>>();
    let pair = |n: &str, f: &str| (n.to_string(), f.to_string());
    let scan = |prefix: &'static str, after: Option<(&'static str, &'static str)>, limit| {
        let store = store.clone();
        async move { ids(store.scan_versions("b1", prefix, after, limit).await.expect("scan")) }
    };
    assert_eq!(scan("a/", None, 2).await, [pair("a/1", "f3"), pair("a/1", "f1")]);
    assert_eq!(scan("a/", Some(("a/1", "f3")), 1).await, [pair("a/1", "f1")], "the cursor is exclusive, within a name too");
    assert_eq!(scan("a/", Some(("a/1", "f1")), 10).await, [pair("a/2", "f2"), pair("a/3", "f5")]);
    assert_eq!(scan("", None, 10).await.len(), 5, "another bucket's versions are not scanned");
    assert!(scan("c/", None, 10).await.is_empty());

    store.queue_blob_deletes(&["x".into(), "y".into()]).await.expect("queue");
    store.queue_blob_deletes(&["y".into(), "z".into()]).await.expect("queue again");
    let mut pending = store.pending_blob_deletes(10).await.expect("pending");
    pending.sort();
    assert_eq!(pending, ["x", "y", "z"], "a blob queued twice is queued once");
    assert_eq!(store.pending_blob_deletes(2).await.expect("pending").len(), 2);
    store.forget_blob_deletes(&["x".into(), "never-queued".into()]).await.expect("forget");
    store.forget_blob_deletes(&[]).await.expect("forget nothing");
    let mut pending = store.pending_blob_deletes(10).await.expect("pending");
    pending.sort();
    assert_eq!(pending, ["y", "z"]);
    assert!(store.blob_referenced("blob-f1").await.expect("referenced"));
    assert!(!store.blob_referenced("y").await.expect("referenced"));
}

/// SSE-KMS keys: created once per id (a second insert writes nothing), read back and listed by id.
async fn kms_keys<S: MetadataStore + 'static>(store: Arc<S>) {
    let key = |id: &str, sealed: &str| KmsKey { key_id: id.into(), sealed: sealed.into(), created: 7 };
    assert!(store.insert_kms_key(&key("k2", "sealed-2")).await.expect("insert"));
    assert!(store.insert_kms_key(&key("k1", "sealed-1")).await.expect("insert"));
    assert!(!store.insert_kms_key(&key("k1", "other")).await.expect("insert again"), "an existing key is kept");
    assert_eq!(store.get_kms_key("k1").await.expect("get"), Some(key("k1", "sealed-1")));
    assert_eq!(store.get_kms_key("nope").await.expect("get"), None);
    assert_eq!(store.list_kms_keys().await.expect("list"), vec![key("k1", "sealed-1"), key("k2", "sealed-2")]);
}

/// `insert_version_if` and a checked finish: the check sees the name's newest version inside the write,
/// and of writers racing with "no object yet" exactly one wins.
async fn conditional_inserts<S: MetadataStore + 'static>(store: Arc<S>) {
    store.create_bucket(&bucket("b", "conditional"), 100).await.expect("create");
    let no_object = || -> LatestCheck {
        Box::new(|latest: Option<&FileVersion>| match latest {
            Some(v) if v.action == Action::Upload => Err(Error::PreconditionFailed(format!("{} exists", v.file_id))),
            _ => Ok(()),
        })
    };
    let racers = (0..8).map(|i| {
        let store = store.clone();
        let check = no_object();
        tokio::spawn(async move { store.insert_version_if(&version("b", "once", &format!("c{i}"), Action::Upload), check).await })
    });
    let outcomes: Vec<Result<()>> = futures::future::join_all(racers).await.into_iter().map(|r| r.expect("task")).collect();
    assert_eq!(outcomes.iter().filter(|o| o.is_ok()).count(), 1, "exactly one conditional writer wins: {outcomes:?}");
    assert!(outcomes.iter().filter(|o| o.is_err()).all(|o| matches!(o, Err(Error::PreconditionFailed(_)))));
    assert_eq!(store.list_versions("b", &ListCursor::default(), false, 20).await.expect("list").len(), 1, "losers write nothing");
    // A hide marker as the newest version counts as no object; the check sees it.
    store.insert_version(&version("b", "once", "z-hide", Action::Hide)).await.expect("hide");
    store.insert_version_if(&version("b", "once", "z-new", Action::Upload), no_object()).await.expect("after a delete marker");
    // A finish checked the same way: refused while the name has an object, leaving the upload as it was.
    store.insert_version(&version("b", "once", "L", Action::Start)).await.expect("start");
    store.put_part(&part("L", 1, "lp1")).await.expect("part");
    let plan: FinishPlan = Box::new(|mut v, _| {
        v.action = Action::Upload;
        Ok(v)
    });
    let refused = store.finish_large_file("L", plan, Some(no_object())).await;
    assert!(matches!(refused, Err(Error::PreconditionFailed(_))), "{refused:?}");
    assert_eq!(store.get_version("L").await.expect("get").map(|v| v.action), Some(Action::Start));
    assert_eq!(store.list_parts("L", 1, 10).await.expect("parts").len(), 1);
}

/// Every field of every record comes back as stored, through each way in and out.
async fn every_field_is_kept<S: MetadataStore + 'static>(store: Arc<S>) {
    use crate::records::tests::{full_bucket, full_key, full_part, full_version};
    let key = full_key();
    store.insert_key(&key).await.expect("key");
    assert_eq!(store.get_key(&key.key_id).await.expect("get key"), Some(key.clone()));
    assert_eq!(store.list_keys(None, 10).await.expect("keys"), vec![key.clone()]);
    assert_eq!(store.delete_key(&key.key_id).await.expect("delete key"), Some(key));

    let mut b = full_bucket("full", "Full-Bucket");
    store.create_bucket(&b, 10).await.expect("bucket");
    assert_eq!(store.get_bucket_by_name("full-bucket").await.expect("by name"), Some(b.clone()));
    b.default_retention = None;
    b.tags.clear();
    b.default_encryption = Encryption::SseKms { key_id: "kms-key-1".into() };
    b.revision += 1;
    assert!(store.update_bucket(&b, b.revision - 1).await.expect("update"));
    assert_eq!(store.list_buckets().await.expect("buckets"), vec![b.clone()]);

    let large = full_version("full", "f1");
    let mut sealed = full_version("full", "f2");
    sealed.content = Content::Blob { id: "blob-sealed".into(), salt: Some("salt".into()) };
    sealed.encryption = Encryption::SseB2;
    for v in [&large, &sealed] {
        store.insert_version(v).await.expect("insert");
    }
    assert_eq!(store.get_version("f1").await.expect("get"), Some(large.clone()));
    assert_eq!(store.latest_version("full", &sealed.name).await.expect("latest"), Some(sealed.clone()));
    assert_eq!(store.list_versions("full", &ListCursor::default(), false, 10).await.expect("list"), vec![sealed.clone(), large.clone()]);
    let changed = store
        .modify_version(
            "f1",
            Box::new(|mut v| {
                v.legal_hold = Some(true);
                v.retention = None;
                v.tags.insert("added".into(), "yes".into());
                Ok(v)
            }),
        )
        .await
        .expect("modify");
    assert_eq!(changed.legal_hold, Some(true));
    assert_eq!(store.get_version("f1").await.expect("get"), Some(changed));
    let kms =
        FileVersion { name: "kms.bin".into(), encryption: Encryption::SseKms { key_id: "kms-key-1".into() }, ..full_version("full", "f4") };
    store.insert_version(&kms).await.expect("insert");
    assert_eq!(store.get_version("f4").await.expect("get"), Some(kms));

    let mut started = version("full", "big", "f3", Action::Start);
    started.info.insert("large_file_sha1".into(), "abc".into());
    store.insert_version(&started).await.expect("start");
    let part = full_part("f3");
    store.put_part(&part).await.expect("part");
    assert_eq!(store.list_parts("f3", 1, 10).await.expect("parts"), vec![part]);
    assert_eq!(store.list_unfinished("full", "", None, 10).await.expect("unfinished"), vec![started]);
}

/// Uploads committed together (group commit) still fail or succeed each on its own.
async fn inserts_fail_alone<S: MetadataStore + 'static>(store: Arc<S>) {
    store.create_bucket(&bucket("b1", "together"), 100).await.expect("create");
    let tasks: Vec<_> = (0..200)
        .map(|i| {
            let store = store.clone();
            // Every tenth names a bucket that does not exist.
            let bucket_id = if i % 10 == 9 { "missing" } else { "b1" };
            tokio::spawn(async move {
                store.insert_version(&version(bucket_id, &format!("f{i:03}"), &format!("id{i:03}"), Action::Upload)).await
            })
        })
        .collect();
    let mut refused = 0;
    for task in tasks {
        match task.await.expect("join") {
            Ok(()) => {}
            Err(Error::BucketNotFound(_)) => refused += 1,
            Err(e) => panic!("unexpected {e}"),
        }
    }
    assert_eq!(refused, 20);
    let listed = store.list_versions("b1", &ListCursor::default(), false, 1000).await.expect("list");
    assert_eq!(listed.len(), 180);
    assert!(store.blob_referenced("blob-id000").await.expect("referenced"), "blobs are linked");
}

/// Settled facts, leases and console sessions: what nodes of one deployment share beside the data.
async fn shared_state<S: MetadataStore + 'static>(store: Arc<S>) {
    let (a, b) = (store.clone(), store.clone());
    let (x, y) = tokio::join!(
        tokio::spawn(async move { a.settle("fact", b"first").await }),
        tokio::spawn(async move { b.settle("fact", b"second").await })
    );
    let (x, y) = (x.expect("join").expect("settle"), y.expect("join").expect("settle"));
    assert_eq!(x, y, "racing nodes settle on one value");
    assert_eq!(store.settle("fact", b"third").await.expect("settle"), x, "a settled fact stays");

    assert!(store.acquire_lease("gc", "node-a", 1_000, 2_000).await.expect("lease"));
    assert!(!store.acquire_lease("gc", "node-b", 1_500, 2_500).await.expect("lease"), "held by another node");
    assert!(store.acquire_lease("gc", "node-a", 1_900, 3_000).await.expect("lease"), "the holder renews");
    assert!(!store.acquire_lease("gc", "node-b", 2_999, 4_000).await.expect("lease"), "renewed lease still held");
    assert!(store.acquire_lease("gc", "node-b", 3_001, 4_000).await.expect("lease"), "an expired lease moves");
    assert!(store.acquire_lease("lifecycle", "node-a", 3_001, 4_000).await.expect("lease"), "leases are independent");

    store.put_session("s1", "record-1", 10_000, 0).await.expect("put");
    store.put_session("s2", "record-2", 20_000, 0).await.expect("put");
    assert_eq!(store.get_session("s1", 5_000).await.expect("get").as_deref(), Some("record-1"));
    assert_eq!(store.get_session("s1", 10_000).await.expect("get"), None, "expired sessions are not returned");
    store.put_session("s3", "record-3", 30_000, 15_000).await.expect("put");
    store.delete_session("s2").await.expect("delete");
    assert_eq!(store.get_session("s2", 15_000).await.expect("get"), None);
    assert_eq!(store.get_session("s3", 15_000).await.expect("get").as_deref(), Some("record-3"));

    store.queue_events(&["e1".into(), "e2".into()]).await.expect("queue");
    store.queue_events(&["e3".into()]).await.expect("queue");
    let pending = store.pending_events(10).await.expect("pending");
    let records: Vec<&str> = pending.iter().map(|(_, r)| r.as_str()).collect();
    assert_eq!(records, ["e1", "e2", "e3"], "events come out in the order they went in");
    store.forget_events(&[pending[0].0, pending[2].0]).await.expect("forget");
    let left: Vec<String> = store.pending_events(10).await.expect("pending").into_iter().map(|(_, r)| r).collect();
    assert_eq!(left, ["e2"]);
}

/// Names are unique case-insensitively; of two creates racing for one name exactly one wins.
async fn bucket_names<S: MetadataStore + 'static>(store: Arc<S>) {
    store.create_bucket(&bucket("b1", "Photos"), 100).await.expect("create");
    assert!(matches!(store.create_bucket(&bucket("b2", "photos"), 100).await, Err(Error::DuplicateBucketName(_))));
    assert!(matches!(store.create_bucket(&bucket("b3", "other"), 1).await, Err(Error::TooManyBuckets(_))));
    let (a, b) = (store.clone(), store.clone());
    let (x, y) = tokio::join!(
        tokio::spawn(async move { a.create_bucket(&bucket("r1", "racing"), 100).await }),
        tokio::spawn(async move { b.create_bucket(&bucket("r2", "racing"), 100).await })
    );
    let outcomes = [x.expect("join"), y.expect("join")];
    assert_eq!(outcomes.iter().filter(|o| o.is_ok()).count(), 1, "{outcomes:?}");
    assert!(store.get_bucket_by_name("RACING").await.expect("get").is_some(), "names match case-insensitively");
    let names: Vec<String> = store.list_buckets().await.expect("list").into_iter().map(|b| b.name).collect();
    assert_eq!(names, ["Photos", "racing"], "buckets ordered by name");
}

/// `update_bucket` replaces only the revision it was read at: of racing updates, exactly one lands.
async fn bucket_revisions<S: MetadataStore + 'static>(store: Arc<S>) {
    store.create_bucket(&bucket("b1", "revised"), 100).await.expect("create");
    let mut tasks = Vec::new();
    for i in 0..8 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let mut next = bucket("b1", "revised");
            next.revision = 2;
            next.info.insert("writer".into(), serde_json::Value::from(i));
            store.update_bucket(&next, 1).await
        }));
    }
    let mut landed = 0;
    for t in tasks {
        if t.await.expect("join").expect("update") {
            landed += 1;
        }
    }
    assert_eq!(landed, 1, "exactly one update at revision 1");
    assert_eq!(store.get_bucket("b1").await.expect("get").map(|b| b.revision), Some(2));
}

/// Names in UTF-8 byte order, versions of a name newest (largest file id) first, inclusive cursors,
/// latest-only listings that skip unfinished files, prefixes.
async fn version_order_and_cursors<S: MetadataStore + 'static>(store: Arc<S>) {
    store.create_bucket(&bucket("b", "ordered"), 100).await.expect("create");
    // Byte order: "B" (0x42) < "a" (0x61) < "a/x" < "z" < "~" (0x7e) < "é" (0xc3 0xa9).
    let rows = [
        ("a", "f1", Action::Upload),
        ("a", "f5", Action::Upload),
        ("z", "f2", Action::Hide),
        ("B", "f3", Action::Upload),
        ("é", "f4", Action::Upload),
        ("~", "f6", Action::Start),
        ("a/x", "f7", Action::Upload),
    ];
    for (name, id, action) in rows {
        store.insert_version(&version("b", name, id, action)).await.expect("insert");
    }
    let all = store.list_versions("b", &ListCursor::default(), false, 100).await.expect("list");
    let order: Vec<(&str, &str)> = all.iter().map(|v| (v.name.as_str(), v.file_id.as_str())).collect();
    assert_eq!(order, [("B", "f3"), ("a", "f5"), ("a", "f1"), ("a/x", "f7"), ("z", "f2"), ("~", "f6"), ("é", "f4")]);
    // A cursor names where to start, inclusively.
    let cursor = ListCursor { start_name: "a".into(), start_file_id: Some("f1".into()), prefix: String::new() };
    let from = store.list_versions("b", &cursor, false, 2).await.expect("list");
    assert_eq!(from.iter().map(|v| v.file_id.as_str()).collect::<Vec<_>>(), ["f1", "f7"]);
    // Latest only: the newest upload-or-hide version per name; unfinished files never count.
    let latest = store.list_versions("b", &ListCursor::default(), true, 100).await.expect("latest");
    assert_eq!(latest.iter().map(|v| v.file_id.as_str()).collect::<Vec<_>>(), ["f3", "f5", "f7", "f2", "f4"]);
    assert_eq!(store.latest_version("b", "a").await.expect("latest").map(|v| v.file_id), Some("f5".into()));
    assert_eq!(store.latest_version("b", "~").await.expect("latest"), None, "an unfinished file is not a version");
    let prefixed = ListCursor { start_name: "a".into(), start_file_id: None, prefix: "a".into() };
    let under = store.list_versions("b", &prefixed, false, 100).await.expect("prefix");
    assert!(under.iter().all(|v| v.name.starts_with('a')) && under.len() == 3, "{under:?}");
    // Daily usage: a later record of a day replaces the earlier; history runs oldest first from a day.
    for (day, files) in [(20, 1), (21, 2), (21, 3), (19, 9)] {
        store.record_usage("b", DailyUsage { day, files, bytes: files * 10 }).await.expect("record");
    }
    let history = store.usage_history("b", 20).await.expect("history");
    assert_eq!(history, [DailyUsage { day: 20, files: 1, bytes: 10 }, DailyUsage { day: 21, files: 3, bytes: 30 }]);
    // Usage counts stored uploads (not hide markers, not unfinished files), all or under a prefix.
    assert_eq!(store.bucket_usage("b", "").await.expect("usage").0, 5);
    assert_eq!(store.bucket_usage("b", "a").await.expect("usage").0, 3);
    assert_eq!(store.bucket_usage("b", "q").await.expect("usage"), (0, 0, None));
    let unfinished = store.list_unfinished("b", "", None, 10).await.expect("unfinished");
    assert_eq!(unfinished.iter().map(|v| v.file_id.as_str()).collect::<Vec<_>>(), ["f6"]);
    // By name: names in byte order, uploads of one name in the order they started; cursors pass one upload
    // or every upload of a name.
    for (name, id) in [("up/b", "u3"), ("up/a", "u2"), ("up/b", "u1"), ("up/é", "u4")] {
        store.insert_version(&version("b", name, id, Action::Start)).await.expect("insert");
    }
    let by_name = |after: Option<(&'static str, Option<&'static str>)>, limit| {
        let store = store.clone();
        async move {
            let listed = store.list_unfinished_by_name("b", "up/", after, limit).await.expect("by name");
            listed.into_iter().map(|v| v.file_id).collect::<Vec<_>>()
        }
    };
    assert_eq!(by_name(None, 10).await, ["u2", "u1", "u3", "u4"]);
    assert_eq!(by_name(None, 2).await, ["u2", "u1"]);
    assert_eq!(by_name(Some(("up/b", Some("u1"))), 10).await, ["u3", "u4"]);
    assert_eq!(by_name(Some(("up/b", None)), 10).await, ["u4"]);
    assert_eq!(by_name(Some(("up/a", None)), 10).await, ["u1", "u3", "u4"]);
    assert!(matches!(store.delete_bucket("b").await, Err(Error::BucketNotEmpty)));
}

/// Deletes and changes decide on the version as it is in their own transaction.
async fn deletes_and_changes<S: MetadataStore + 'static>(store: Arc<S>) {
    store.create_bucket(&bucket("b", "changes"), 100).await.expect("create");
    store.insert_version(&version("b", "held", "f1", Action::Upload)).await.expect("insert");
    assert!(store.blob_referenced("blob-f1").await.expect("referenced"));
    // A refused check leaves the version in place.
    let refused = store.delete_version("f1", Box::new(|_| Err(Error::AccessDenied("held".into())))).await;
    assert!(matches!(refused, Err(Error::AccessDenied(_))));
    assert!(store.get_version("f1").await.expect("get").is_some());
    // Changes see each other: concurrent legal-hold and tag changes both land.
    let (a, b) = (store.clone(), store.clone());
    let (x, y) = tokio::join!(
        a.modify_version(
            "f1",
            Box::new(|mut v| {
                v.legal_hold = Some(true);
                Ok(v)
            })
        ),
        b.modify_version(
            "f1",
            Box::new(|mut v| {
                v.tags.insert("k".into(), "v".into());
                Ok(v)
            })
        ),
    );
    x.expect("hold");
    y.expect("tags");
    let now = store.get_version("f1").await.expect("get").expect("present");
    assert_eq!((now.legal_hold, now.tags.get("k").map(String::as_str)), (Some(true), Some("v")));
    // The check sees the hold set a moment ago.
    let lock_aware = store
        .delete_version("f1", Box::new(|v| if v.legal_hold == Some(true) { Err(Error::AccessDenied("hold".into())) } else { Ok(()) }))
        .await;
    assert!(lock_aware.is_err());
    // A change may not move a version to another name.
    assert!(
        store
            .modify_version(
                "f1",
                Box::new(|mut v| {
                    v.name = "moved".into();
                    Ok(v)
                })
            )
            .await
            .is_err()
    );
    assert!(matches!(store.modify_version("missing", Box::new(Ok)).await, Err(Error::FileNotPresent(_))));
    // Removal queues the blob; deleting what is gone is None.
    let removed = store.delete_version("f1", Box::new(|_| Ok(()))).await.expect("delete");
    assert!(removed.is_some());
    assert!(store.pending_blob_deletes(10).await.expect("pending").contains(&"blob-f1".to_string()));
    assert!(!store.blob_referenced("blob-f1").await.expect("referenced"));
    assert_eq!(store.delete_version("f1", Box::new(|_| Ok(()))).await.expect("again"), None);
}

/// A large file is finished once: two finishes race and one wins, parts land only while it is
/// unfinished, parts left out are queued for collection.
async fn large_file_states<S: MetadataStore + 'static>(store: Arc<S>) {
    store.create_bucket(&bucket("b", "large"), 100).await.expect("create");
    store.insert_version(&version("b", "big", "L", Action::Start)).await.expect("start");
    for (n, blob) in [(1, "p1"), (2, "p2"), (3, "p3")] {
        store.put_part(&part("L", n, blob)).await.expect("part");
    }
    // A part with the same number replaces the old one, whose blob is queued.
    store.put_part(&part("L", 1, "p1b")).await.expect("replace");
    assert!(store.pending_blob_deletes(10).await.expect("pending").contains(&"p1".to_string()));
    let finish = |store: Arc<S>| async move {
        store
            .finish_large_file(
                "L",
                Box::new(|mut v, parts| {
                    // Parts 1 and 2 only: part 3 is left out.
                    let used: Vec<PartRef> = parts
                        .iter()
                        .filter(|p| p.part_number <= 2)
                        .map(|p| PartRef {
                            blob_id: p.blob_id.clone(),
                            size: p.size,
                            md5: p.md5.clone(),
                            salt: None,
                            checksums: Checksums::new(),
                        })
                        .collect();
                    v.action = Action::Upload;
                    v.size = used.iter().map(|p| p.size).sum();
                    v.content = Content::Parts(used);
                    Ok(v)
                }),
                None,
            )
            .await
    };
    let (x, y) = tokio::join!(finish(store.clone()), finish(store.clone()));
    let outcomes = [x, y];
    assert_eq!(outcomes.iter().filter(|o| o.is_ok()).count(), 1);
    assert!(outcomes.iter().any(|o| matches!(o, Err(Error::NoSuchUpload(_)))), "the loser is NoSuchUpload");
    let done = store.get_version("L").await.expect("get").expect("finished");
    assert_eq!((done.action, done.size), (Action::Upload, 20));
    assert!(matches!(store.put_part(&part("L", 4, "late")).await, Err(Error::NoSuchUpload(_))));
    assert!(store.list_parts("L", 1, 10).await.expect("parts").is_empty(), "part rows go with the finish");
    assert!(store.pending_blob_deletes(10).await.expect("pending").contains(&"p3".to_string()));
    for used in ["p1b", "p2"] {
        assert!(store.blob_referenced(used).await.expect("referenced"), "{used} is the finished file's");
    }
    // Cancel-style removal of a finished file is refused by its check.
    let still_unfinished = store
        .delete_version("L", Box::new(|v| if v.action == Action::Start { Ok(()) } else { Err(Error::NoSuchUpload("finished".into())) }))
        .await;
    assert!(matches!(still_unfinished, Err(Error::NoSuchUpload(_))));
}
