# METADATA
# title: ReelMesh workflow authorization
# description: >-
#   Decides every pod-to-pod call from the input document opa-envoy-plugin builds.
#   Default deny: a call is allowed only when (source, destination) is an edge of the
#   owner's workflow, the method is POST and the raw path is that edge's chunk handoff
#   path /v1/handoffs/<workflow>/<step>/<artifact>/<chunk>. Every lookup is a key access
#   into data.reelmesh (generated from policies/workflow.yaml), so the cost of a decision
#   does not grow with the number of edges. The TypeScript engine in libs/policy
#   (evaluate.ts) implements the same checks in the same order; the decision vectors in
#   policies/vectors prove both agree.
package reelmesh.authz

default allow := false

# METADATA
# title: Allow
# description: True only when reason is "allowed".
# scope: document
# entrypoint: true
allow if reason == "allowed"

# METADATA
# title: Decision
# description: The verdict with the first failed check as its reason.
# entrypoint: true
decision := {"allowed": allow, "reason": reason}

# METADATA
# title: Reason
# description: >-
#   The first check that fails, in a fixed order. Each branch tests the negation of a
#   positive fact, so an undefined fact (missing field, malformed data) denies.
#   OPA treats a request with no input, or with input null, as having no input document,
#   so "input_missing" is only for an input that is given but is not an object (a list,
#   a string, a number, a boolean); with no input the first failing check is the source
#   principal ("source_principal_missing").
reason := "input_missing" if {
	_input_given
	not is_object(input)
} else := "source_principal_missing" if {
	not _source
} else := "destination_principal_missing" if {
	not _destination
} else := "source_unknown" if {
	not data.reelmesh.principals[_source]
} else := "destination_unknown" if {
	not data.reelmesh.principals[_destination]
} else := "edge_forbidden" if {
	not data.reelmesh.edges[_destination][_source]
} else := "method_not_allowed" if {
	not _method_is_handoff
} else := "path_not_handoff" if {
	not _handoff
} else := "workflow_unknown" if {
	not _workflow_known
} else := "handoff_not_allowed" if {
	not _handoff_on_edge
} else := "allowed"

# True when the request carries an input document. With no input at all `input != null` is
# undefined, with input null it is false: either way this rule is undefined and the
# "input_missing" branch does not apply. For an object input it is true, but is_object(input)
# holds, so that branch cannot apply either: object inputs are decided as before.
_input_given if input != null

_source := principal if {
	principal := input.attributes.source.principal
	is_string(principal)
	principal != ""
}

_destination := principal if {
	principal := input.attributes.destination.principal
	is_string(principal)
	principal != ""
}

_method_is_handoff if input.attributes.request.http.method == "POST"

# The raw request path: no decoding, no normalisation, exactly seven segments (the leading ""
# included), the chunk index a canonical decimal. A query string fails the chunk pattern.
_handoff := {"workflow": workflow, "step": step, "artifact": artifact} if {
	path := input.attributes.request.http.path
	is_string(path)
	["", "v1", "handoffs", workflow, step, artifact, chunk] = split(path, "/")
	regex.match(`^(0|[1-9][0-9]{0,14})$`, chunk)
}

_workflow_known if _handoff.workflow == data.reelmesh.workflow.id

_handoff_on_edge if data.reelmesh.edges[_destination][_source][_handoff.step][_handoff.artifact] == true
