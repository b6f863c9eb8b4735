//! Routes are declared with the action they reach (the auth service's
//! requirement table): a route cannot be added without one, the gate runs
//! before its handler, and `declared()` lists them all for the route matrix
//! test and the README.

use axum::handler::Handler;
use axum::http::Method;
use axum::middleware::from_fn_with_state;
use axum::routing::MethodRouter;
use axum::Router;
use twostep_auth::Action;

use crate::gate::{gate, Gate};
use crate::AppState;

/// Which kind of answer a route gives, so a refusal takes its shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Surface {
    /// HTML pages (errors become pages or redirects).
    Page,
    /// JSON under /api/v1 and the OAuth endpoints.
    Api,
    /// Git smart HTTP: text that git shows, and Basic challenges.
    Git,
}

/// One route as declared.
#[derive(Debug, Clone)]
pub struct Declared {
    pub method: Method,
    pub path: String,
    pub action: Action,
    pub surface: Surface,
}

/// A list of routes being declared.
pub struct Routes {
    surface: Surface,
    items: Vec<(Declared, MethodRouter<AppState>)>,
}

impl Routes {
    pub fn new(surface: Surface) -> Routes {
        Routes {
            surface,
            items: Vec::new(),
        }
    }

    fn add(
        mut self,
        method: Method,
        path: &str,
        action: Action,
        mr: MethodRouter<AppState>,
    ) -> Self {
        let d = Declared {
            method,
            path: path.to_string(),
            action,
            surface: self.surface,
        };
        self.items.push((d, mr));
        self
    }

    pub fn get<H, T>(self, path: &str, action: Action, handler: H) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        self.add(Method::GET, path, action, axum::routing::get(handler))
    }

    pub fn post<H, T>(self, path: &str, action: Action, handler: H) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        self.add(Method::POST, path, action, axum::routing::post(handler))
    }

    pub fn put<H, T>(self, path: &str, action: Action, handler: H) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        self.add(Method::PUT, path, action, axum::routing::put(handler))
    }

    pub fn delete<H, T>(self, path: &str, action: Action, handler: H) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        self.add(Method::DELETE, path, action, axum::routing::delete(handler))
    }

    pub fn merge(mut self, other: Routes) -> Self {
        self.items.extend(other.items);
        self
    }

    /// The declarations, paths as served under `prefix`.
    pub fn declared(&self, prefix: &str) -> Vec<Declared> {
        self.items
            .iter()
            .map(|(d, _)| Declared {
                path: format!("{prefix}{}", d.path),
                ..d.clone()
            })
            .collect()
    }

    /// The router: each route behind the gate, with its action.
    pub fn into_router(self, state: &AppState) -> Router<AppState> {
        let mut router = Router::new();
        for (d, mr) in self.items {
            let g = Gate {
                state: state.clone(),
                action: d.action,
                surface: d.surface,
            };
            router = router.route(&d.path, mr.route_layer(from_fn_with_state(g, gate)));
        }
        router
    }
}
