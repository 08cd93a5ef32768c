//! Wire-level checks that the generated code matches the protocol's numbering
//! and method paths. A renumbered field or a renamed service compiles fine and
//! only fails against a real Terraform, so we pin the bytes here.

use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use prost::Message;
use tonic::body::Body;
use tonic::codegen::http;

use crate::plugin::{self, grpc_controller_client::GrpcControllerClient};
use crate::tfplugin6::{self, provider_client::ProviderClient};

#[test]
fn dynamic_value_msgpack_is_field_1_and_json_field_2() {
    let value = tfplugin6::DynamicValue {
        msgpack: vec![0xc0],
        json: b"{}".to_vec(),
    };
    // Tag = field number << 3 | wire type 2 (length-delimited).
    assert_eq!(
        value.encode_to_vec(),
        [0x0a, 0x01, 0xc0, 0x12, 0x02, b'{', b'}']
    );

    let decoded = tfplugin6::DynamicValue::decode(&[0x12, 0x01, b'1'][..]).unwrap();
    assert_eq!(decoded.json, b"1");
    assert!(decoded.msgpack.is_empty());
}

#[test]
fn diagnostic_severity_error_is_one() {
    let diag = tfplugin6::Diagnostic {
        severity: tfplugin6::diagnostic::Severity::Error as i32,
        ..Default::default()
    };
    assert_eq!(diag.encode_to_vec(), [0x08, 0x01]);
}

#[test]
fn late_fields_keep_their_numbers() {
    // planned_identity was added in 6.9 as field 7 of PlanResourceChange.Response.
    let resp = tfplugin6::plan_resource_change::Response {
        planned_identity: Some(tfplugin6::ResourceIdentityData::default()),
        ..Default::default()
    };
    assert_eq!(resp.encode_to_vec(), [0x3a, 0x00]);

    // proto3 `optional` keeps presence: an empty but present `private` is sent.
    let renew = tfplugin6::renew_ephemeral_resource::Request {
        type_name: String::new(),
        private: Some(Vec::new()),
    };
    assert_eq!(renew.encode_to_vec(), [0x12, 0x00]);
}

#[test]
fn stdio_channel_numbers_match_go_plugin() {
    let data = plugin::StdioData {
        channel: plugin::stdio_data::Channel::Stderr as i32,
        data: b"x".to_vec(),
    };
    assert_eq!(data.encode_to_vec(), [0x08, 0x02, 0x12, 0x01, b'x']);
}

#[test]
fn service_names() {
    assert_eq!(
        tfplugin6::provider_server::SERVICE_NAME,
        "tfplugin6.Provider"
    );
    assert_eq!(
        plugin::grpc_controller_server::SERVICE_NAME,
        "plugin.GRPCController"
    );
    assert_eq!(plugin::grpc_stdio_server::SERVICE_NAME, "plugin.GRPCStdio");
}

/// A transport that records the request path and answers UNIMPLEMENTED, so
/// the generated clients can be checked without a server.
#[derive(Clone, Default)]
struct RecordPath(Arc<Mutex<Vec<String>>>);

impl tonic::codegen::Service<http::Request<Body>> for RecordPath {
    type Response = http::Response<Body>;
    type Error = std::convert::Infallible;
    type Future = std::future::Ready<Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<Body>) -> Self::Future {
        self.0.lock().unwrap().push(req.uri().path().to_owned());
        let resp = http::Response::builder()
            .header("content-type", "application/grpc")
            .header("grpc-status", "12")
            .body(Body::empty())
            .unwrap();
        std::future::ready(Ok(resp))
    }
}

#[tokio::test]
async fn method_paths() {
    let transport = RecordPath::default();
    let origin: http::Uri = "http://localhost".parse().unwrap();

    let mut provider = ProviderClient::with_origin(transport.clone(), origin.clone());
    let status = provider
        .get_provider_schema(tfplugin6::get_provider_schema::Request {})
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::Unimplemented);

    let mut controller = GrpcControllerClient::with_origin(transport.clone(), origin);
    controller.shutdown(plugin::Empty {}).await.unwrap_err();

    assert_eq!(
        *transport.0.lock().unwrap(),
        [
            "/tfplugin6.Provider/GetProviderSchema",
            "/plugin.GRPCController/Shutdown"
        ]
    );
}
