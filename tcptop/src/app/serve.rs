//! The daemon's HTTP edge: `GET /metrics` answers with the registry's exposition, over
//! HTTP/1.1 (hyper). Every connection is a task of its own, so a slow scraper never
//! holds collection up; the encoding itself takes the exported state's lock briefly.
use std::{
    convert::Infallible,
    sync::{Arc, Mutex},
};

use http_body_util::Full;
use hyper::{
    body::{Bytes, Incoming},
    header::{HeaderValue, CONTENT_TYPE},
    server::conn::http1,
    service::service_fn,
    Method, Request, Response, StatusCode,
};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

use crate::output::prometheus::{self, Exported};

/// Serves the exposition of `state` on `listener` until the runtime stops.
pub async fn serve(listener: TcpListener, state: Arc<Mutex<Exported>>) {
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(e) => {
                // Out of descriptors, say: wait a little rather than spin.
                say!("cannot accept a metrics connection: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                continue;
            }
        };
        let state = state.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req| {
                let state = state.clone();
                async move { Ok::<_, Infallible>(respond(&req, &state)) }
            });
            // A scraper that goes away mid-answer is no concern of ours.
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// The answer to one request.
fn respond(req: &Request<Incoming>, state: &Mutex<Exported>) -> Response<Full<Bytes>> {
    let text = |status: StatusCode, body: String| {
        let mut r = Response::new(Full::new(Bytes::from(body)));
        *r.status_mut() = status;
        r.headers_mut().insert(
            CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        r
    };
    match (req.method(), req.uri().path()) {
        (&Method::GET | &Method::HEAD, "/metrics") => match prometheus::scrape(state) {
            Ok(body) => {
                let mut r = text(StatusCode::OK, body);
                r.headers_mut().insert(
                    CONTENT_TYPE,
                    HeaderValue::from_static(prometheus::CONTENT_TYPE),
                );
                r
            }
            Err(e) => text(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("cannot encode the metrics: {e}\n"),
            ),
        },
        (&Method::GET, "/") => text(
            StatusCode::OK,
            "tcptop daemon: Prometheus metrics are at /metrics\n".into(),
        ),
        _ => text(
            StatusCode::NOT_FOUND,
            "not found: tcptop serves /metrics\n".into(),
        ),
    }
}
