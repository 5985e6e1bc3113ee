//! The client's own middleware, outermost in kube-rs's stack: it puts the plugin's
//! current token on every request (so a renewed token is used without a new client
//! and without relisting), and tells [`Shared`] when the API server accepted a
//! request for a kind, which ends that kind's failure at once (a re-established watch
//! on a quiet kind emits nothing else to go by).
use std::{
    sync::{Arc, PoisonError, RwLock},
    task::{Context, Poll},
};

use futures::future::BoxFuture;
use http::{header::AUTHORIZATION, HeaderValue, Request, Response};
use tower::{Layer, Service};

use super::{index::Kind, watch::Shared};

/// The `Authorization` header the plugin's latest token makes, if a plugin is used.
#[derive(Clone, Debug, Default)]
pub struct Bearer(Arc<RwLock<Option<HeaderValue>>>);

impl Bearer {
    /// Uses `header` from now on.
    pub fn set(&self, header: HeaderValue) {
        *self.0.write().unwrap_or_else(PoisonError::into_inner) = Some(header);
    }

    fn get(&self) -> Option<HeaderValue> {
        self.0
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// Wraps the client's service in [`Observed`].
#[derive(Clone, Debug)]
pub struct Observe {
    /// Told of accepted requests.
    pub shared: Arc<Shared>,
    /// Put on every request.
    pub bearer: Bearer,
}

impl<S> Layer<S> for Observe {
    type Service = Observed<S>;

    fn layer(&self, inner: S) -> Observed<S> {
        Observed {
            inner,
            shared: self.shared.clone(),
            bearer: self.bearer.clone(),
        }
    }
}

/// The service [`Observe`] makes.
#[derive(Clone, Debug)]
pub struct Observed<S> {
    inner: S,
    shared: Arc<Shared>,
    bearer: Bearer,
}

/// The kind a request path is about: `/api/v1/pods` is pods.
fn kind_of(path: &str) -> Option<Kind> {
    Kind::ALL.into_iter().find(|k| {
        path.strip_suffix(k.plural())
            .is_some_and(|rest| rest.ends_with('/'))
    })
}

impl<S, B, R> Service<Request<B>> for Observed<S>
where
    S: Service<Request<B>, Response = Response<R>>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<S::Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<B>) -> Self::Future {
        if let Some(h) = self.bearer.get() {
            req.headers_mut().insert(AUTHORIZATION, h);
        }
        let kind = kind_of(req.uri().path());
        let shared = self.shared.clone();
        let answer = self.inner.call(req);
        Box::pin(async move {
            let res = answer.await;
            if let (Some(kind), Ok(r)) = (kind, &res) {
                if r.status().is_success() {
                    shared.accepted(kind);
                }
            }
            res
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_name_their_kind() {
        assert_eq!(kind_of("/api/v1/pods"), Some(Kind::Pods));
        assert_eq!(kind_of("/k8s/clusters/c-1/api/v1/nodes"), Some(Kind::Nodes));
        assert_eq!(kind_of("/api/v1/services"), Some(Kind::Services));
        assert_eq!(kind_of("/api/v1/endpoints"), None);
        assert_eq!(kind_of("/api/v1/xpods"), None);
    }
}
