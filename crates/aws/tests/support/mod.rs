//! A stand-in for an AWS service's HTTP endpoint: an SDK HTTP client that answers each
//! request with the next canned answer, in AWS's wire format, once the request is the call
//! expected next. Every call is recorded, so a test can check that the calls were made in
//! order and every answer was used. No request leaves the process.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use serde_json::{Value, json};

/// The request ID every answer carries.
pub const REQUEST_ID: &str = "req-0001";

/// How a service's calls travel.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Protocol {
    /// awsJson1_1 (KMS): the operation in `X-Amz-Target`, its input as a JSON body; an
    /// error names its code in the body's `__type`.
    JsonRpc,
    /// restJson1 (AWS Backup): the operation as method and path; an error names its code in
    /// the `x-amzn-ErrorType` header.
    Rest,
}

/// One call a client is expected to make, and AWS's answer to it.
#[derive(Debug)]
pub struct Exchange {
    protocol: Protocol,
    /// The call as [`call_of`] names a request.
    call: String,
    /// Members the request's JSON body must carry.
    input: serde_json::Map<String, Value>,
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: Value,
}

impl Exchange {
    /// An awsJson1_1 call of `operation` (the name after the service in `X-Amz-Target`).
    pub fn json_rpc(operation: &str) -> Exchange {
        Exchange::new(Protocol::JsonRpc, operation)
    }

    /// A restJson1 call: its method and path, the path's labels decoded
    /// (`GET /tags/arn:aws:...`).
    pub fn rest(method_and_path: &str) -> Exchange {
        Exchange::new(Protocol::Rest, method_and_path)
    }

    fn new(protocol: Protocol, call: &str) -> Exchange {
        Exchange {
            protocol,
            call: call.into(),
            input: serde_json::Map::new(),
            status: 200,
            headers: Vec::new(),
            body: json!({}),
        }
    }

    /// The call is the one expected only when its JSON body carries `input`'s members.
    pub fn with_input(mut self, input: Value) -> Exchange {
        let Value::Object(members) = input else {
            panic!("an input is a JSON object: {input}");
        };
        self.input = members;
        self
    }

    /// AWS answers 200 with `output`, the operation's output as JSON.
    pub fn answers(mut self, output: Value) -> Exchange {
        self.body = output;
        self
    }

    /// AWS answers `status`, with the error `code` and `message`.
    pub fn fails(mut self, status: u16, code: &str, message: &str) -> Exchange {
        self.status = status;
        self.body = match self.protocol {
            Protocol::JsonRpc => json!({"__type": code, "message": message}),
            Protocol::Rest => {
                let namespace = "http://internal.amazon.com/coral/com.amazonaws.services";
                self.headers
                    .push(("x-amzn-ErrorType", format!("{code}:{namespace}/")));
                json!({"Code": code, "Message": message})
            }
        };
        self
    }

    /// Whether `request`, named `call`, is this exchange's call.
    fn expects(&self, call: &str, request: &HttpRequest) -> bool {
        let body: Value = request
            .body()
            .bytes()
            .and_then(|bytes| serde_json::from_slice(bytes).ok())
            .unwrap_or(Value::Null);
        call == self.call
            && self
                .input
                .iter()
                .all(|(member, value)| body.get(member) == Some(value))
    }

    fn response(&self) -> HttpResponse {
        let status = StatusCode::try_from(self.status).expect("an HTTP status");
        let mut response = HttpResponse::new(status, SdkBody::from(self.body.to_string()));
        let headers = response.headers_mut();
        headers.insert("x-amzn-RequestId", REQUEST_ID);
        let content_type = match self.protocol {
            Protocol::JsonRpc => "application/x-amz-json-1.1",
            Protocol::Rest => "application/json",
        };
        headers.insert("Content-Type", content_type);
        for (name, value) in &self.headers {
            headers.insert(*name, value.clone());
        }
        response
    }
}

/// The call a request makes: the operation of its `X-Amz-Target` (awsJson1_1), else its
/// method and its path with labels decoded (restJson1).
fn call_of(request: &HttpRequest) -> String {
    if let Some(target) = request.headers().get("x-amz-target") {
        return target.rsplit('.').next().unwrap_or(target).to_string();
    }
    let uri = request.uri();
    let after_scheme = uri.split_once("://").map_or(uri, |(_, rest)| rest);
    let path = after_scheme.find('/').map_or("/", |at| &after_scheme[at..]);
    let path = path.split('?').next().unwrap_or(path);
    let decoded = percent_encoding::percent_decode_str(path).decode_utf8_lossy();
    format!("{} {decoded}", request.method())
}

/// An SDK HTTP client answering from canned exchanges, one a request, in order.
#[derive(Clone, Debug)]
pub struct Canned {
    expected: Vec<String>,
    state: Arc<Mutex<State>>,
}

#[derive(Debug, Default)]
struct State {
    exchanges: VecDeque<Exchange>,
    /// Each request made: its call, and its body when it was not the call expected.
    made: Vec<String>,
}

impl Canned {
    /// A client expecting the calls of `exchanges`, in order.
    pub fn new(exchanges: impl IntoIterator<Item = Exchange>) -> Canned {
        let exchanges: VecDeque<Exchange> = exchanges.into_iter().collect();
        Canned {
            expected: exchanges.iter().map(|e| e.call.clone()).collect(),
            state: Arc::new(Mutex::new(State {
                exchanges,
                made: Vec::new(),
            })),
        }
    }

    /// Fails unless exactly the expected calls were made, in order, each as expected.
    pub fn assert_all_made(&self) {
        let state = self.state.lock().expect("the exchanges");
        assert_eq!(state.made, self.expected, "the calls made");
    }
}

impl HttpConnector for Canned {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let call = call_of(&request);
        let mut state = self.state.lock().expect("the exchanges");
        let next = state.exchanges.pop_front();
        match next {
            Some(exchange) if exchange.expects(&call, &request) => {
                state.made.push(call);
                HttpConnectorFuture::ready(Ok(exchange.response()))
            }
            _ => {
                let body = request.body().bytes().map(String::from_utf8_lossy);
                let unexpected = format!("{call} (not expected: {})", body.unwrap_or_default());
                state.made.push(unexpected.clone());
                let error = ConnectorError::other(unexpected.into(), None);
                HttpConnectorFuture::ready(Err(error))
            }
        }
    }
}

impl HttpClient for Canned {
    fn http_connector(
        &self,
        _settings: &HttpConnectorSettings,
        _components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(self.clone())
    }
}
