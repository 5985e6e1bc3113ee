//! The HTTP side of the fake API server: routes, lists with paging, watch streams.
use std::{
    collections::BTreeMap,
    convert::Infallible,
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{
    body::{Body, Bytes},
    extract::{Path as UrlPath, Query, State},
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::get,
    Router,
};
use futures::{channel::mpsc, SinkExt};
use serde_json::{json, Value};
use tokio::sync::watch;

use super::{objects, KindStore, Request, Store, KINDS};

#[derive(Clone)]
pub(crate) struct App {
    store: Arc<Mutex<Store>>,
    kill: watch::Receiver<u64>,
}

/// The routes: `/api/v1/{pods,nodes,services}` and `/apis/apps/v1/replicasets`,
/// anything else 404.
pub(crate) fn router(store: Arc<Mutex<Store>>, kill: watch::Receiver<u64>) -> Router {
    Router::new()
        .route("/api/v1/{resource}", get(handle))
        .route("/apis/apps/v1/{resource}", get(handle))
        .fallback(other)
        .with_state(App { store, kill })
}

fn status(code: StatusCode, reason: &str, message: String) -> Response {
    let body = json!({"kind": "Status", "apiVersion": "v1", "metadata": {},
        "status": "Failure", "message": message, "reason": reason, "code": code.as_u16()});
    (
        code,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

fn authorization(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

async fn other(State(app): State<App>, headers: HeaderMap, uri: axum::http::Uri) -> Response {
    app.store.lock().unwrap().requests.push(Request {
        resource: uri.path().to_string(),
        verb: "other",
        query: BTreeMap::new(),
        authorization: authorization(&headers),
        meta_only: false,
    });
    status(
        StatusCode::NOT_FOUND,
        "NotFound",
        format!("{} not found", uri.path()),
    )
}

/// The object as a metadata-only request gets it: `PartialObjectMetadata`.
fn metadata_of(obj: &Value) -> Value {
    json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
        "metadata": obj["metadata"]})
}

async fn handle(
    State(app): State<App>,
    UrlPath(resource): UrlPath<String>,
    Query(q): Query<BTreeMap<String, String>>,
    headers: HeaderMap,
    uri: axum::http::Uri,
) -> Response {
    let watching = matches!(q.get("watch").map(String::as_str), Some("true" | "1"));
    let meta_only = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("as=PartialObjectMetadata"));
    // ReplicaSets live in the apps group, the rest in the core group.
    let grouped = uri.path().starts_with("/apis/apps/v1/");
    if grouped != (resource == "replicasets") {
        return status(
            StatusCode::NOT_FOUND,
            "NotFound",
            format!("{} not found", uri.path()),
        );
    }
    let verb = if watching { "watch" } else { "list" };
    let mut s = app.store.lock().unwrap();
    let auth = authorization(&headers);
    s.requests.push(Request {
        resource: resource.clone(),
        verb,
        query: q.clone(),
        authorization: auth.clone(),
        meta_only,
    });
    if let Some(want) = &s.bearer {
        if !auth
            .as_deref()
            .is_some_and(|a| a.starts_with(want.as_str()))
        {
            return status(
                StatusCode::UNAUTHORIZED,
                "Unauthorized",
                "Unauthorized".into(),
            );
        }
    }
    let Some(kind) = KINDS.into_iter().find(|k| *k == resource) else {
        return status(
            StatusCode::NOT_FOUND,
            "NotFound",
            format!("{resource} not found"),
        );
    };
    if s.forbidden.contains(&(resource.clone(), verb.to_string())) {
        let msg = format!(
            "{resource} is forbidden: User \"system:serviceaccount:tcptop:tcptop\" cannot \
             {verb} resource \"{resource}\" in API group \"\" at the cluster scope"
        );
        return status(StatusCode::FORBIDDEN, "Forbidden", msg);
    }
    if watching {
        watch_response(&mut s, kind, &q, app.kill.clone(), meta_only)
    } else {
        list_response(&s, kind, &q, meta_only)
    }
}

fn list_response(
    s: &Store,
    kind: &'static str,
    q: &BTreeMap<String, String>,
    meta_only: bool,
) -> Response {
    if q.contains_key("continue") && q.contains_key("resourceVersion") {
        return status(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            "specifying resource version is not allowed when using continue".into(),
        );
    }
    // The continue token carries the list's resourceVersion and the last key sent.
    let (list_rv, after) = match q.get("continue") {
        Some(tok) => {
            let (rv, k) = tok.split_once(':').unwrap_or(("0", ""));
            (rv.parse().unwrap_or(s.rv), Some(k.to_string()))
        }
        None => (s.rv, None),
    };
    let limit: usize = q
        .get("limit")
        .and_then(|l| l.parse().ok())
        .filter(|l| *l > 0)
        .unwrap_or(usize::MAX);
    let empty = KindStore::default();
    let store = s.kinds.get(kind).unwrap_or(&empty);
    let range = match &after {
        Some(k) => store.objects.range::<String, _>((
            std::ops::Bound::Excluded(k.clone()),
            std::ops::Bound::Unbounded,
        )),
        None => store.objects.range::<String, _>(..),
    };
    let mut items = Vec::new();
    let mut last = None;
    let mut more = false;
    for (k, v) in range {
        if items.len() == limit {
            more = true;
            break;
        }
        items.push(if meta_only { metadata_of(v) } else { v.clone() });
        last = Some(k);
    }
    let mut meta = json!({"resourceVersion": list_rv.to_string()});
    if more {
        meta["continue"] = json!(format!("{list_rv}:{}", last.unwrap()));
    }
    let (list_kind, version) = if meta_only {
        ("PartialObjectMetadataList".to_string(), "meta.k8s.io/v1")
    } else {
        (
            format!("{}List", objects::kind_name(kind)),
            objects::api_version(kind),
        )
    };
    let body = json!({"kind": list_kind, "apiVersion": version, "metadata": meta,
        "items": items});
    (
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

fn line(v: &Value) -> Result<Bytes, Infallible> {
    let mut b = serde_json::to_vec(v).unwrap();
    b.push(b'\n');
    Ok(Bytes::from(b))
}

fn watch_response(
    s: &mut Store,
    kind: &'static str,
    q: &BTreeMap<String, String>,
    mut kill: watch::Receiver<u64>,
    meta_only: bool,
) -> Response {
    let from: u64 = q
        .get("resourceVersion")
        .and_then(|r| r.parse().ok())
        .unwrap_or(0);
    let timeout = q
        .get("timeoutSeconds")
        .and_then(|t| t.parse().ok())
        .map_or(Duration::from_secs(1800), Duration::from_secs);
    let (mut tx, rx) = mpsc::channel::<Result<Bytes, Infallible>>(1024);
    let mut backlog = Vec::new();
    if from != 0 && from < s.compacted_below {
        backlog.push(
            json!({"type": "ERROR", "object": {"kind": "Status", "apiVersion": "v1",
            "metadata": {}, "status": "Failure", "reason": "Expired", "code": 410,
            "message": format!("too old resource version: {from} ({})", s.compacted_below)}}),
        );
        let body = Body::from_stream(futures::stream::iter(
            backlog.iter().map(line).collect::<Vec<_>>(),
        ));
        return ([(header::CONTENT_TYPE, "application/json")], body).into_response();
    }
    if let Some(store) = s.kinds.get(kind) {
        backlog.extend(
            store
                .log
                .iter()
                .filter(|(rv, _)| *rv > from)
                .map(|(_, e)| e.clone()),
        );
    }
    let mut events = s.events.subscribe();
    let seen = s.rv;
    // Metadata-only watches get each object's metadata (bookmarks have nothing else).
    let shape = move |ev: &Value| -> Value {
        if !meta_only || ev["type"] == "ERROR" {
            return ev.clone();
        }
        json!({"type": ev["type"], "object": metadata_of(&ev["object"])})
    };
    kill.mark_unchanged();
    tokio::spawn(async move {
        for ev in &backlog {
            if tx.send(line(&shape(ev))).await.is_err() {
                return;
            }
        }
        let deadline = tokio::time::sleep(timeout);
        tokio::pin!(deadline);
        loop {
            tokio::select! {
                ev = events.recv() => match ev {
                    // Events after `seen` only: the backlog had the rest.
                    Ok((k, rv, ev)) if k == kind && (rv > seen || ev["type"] == "BOOKMARK") => {
                        if tx.send(line(&shape(&ev))).await.is_err() { return; }
                    }
                    Ok(_) => {}
                    Err(_) => return,
                },
                _ = kill.changed() => return,
                _ = &mut deadline => return,
            }
        }
    });
    (
        [(header::CONTENT_TYPE, "application/json")],
        Body::from_stream(rx),
    )
        .into_response()
}
