# METADATA
# title: ReelMesh decision-log mask
# description: >-
#   What OPA erases from every decision before it logs or uploads it (OPA evaluates
#   data.system.log.mask, its default decision_logs.mask_decision, on each event): the
#   pod's own secret header (x-reelmesh-pod-token, POD_TOKEN_HEADER in libs/agent-kit),
#   credentials (authorization, cookie) and the request body in every form the
#   opa-envoy-plugin input carries it. Paths are JSON pointers into the event; a path
#   the event does not have is ignored. The owner's ledger keeps the rest.
package system.log

# METADATA
# title: Mask
# description: JSON pointers OPA erases from the decision-log event.
mask contains pointer if {
	some header in {"x-reelmesh-pod-token", "authorization", "cookie"}
	pointer := concat("", ["/input/attributes/request/http/headers/", header])
}

mask contains pointer if {
	some pointer in {
		"/input/attributes/request/http/body",
		"/input/attributes/request/http/raw_body",
		"/input/parsed_body",
	}
}
