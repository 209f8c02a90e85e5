// Every risky control reports here: the request reaches the logging server only if the gate let the
// action through.
function report(what) { fetch('/risky/' + what, { method: 'POST' }); document.title = 'sent ' + what; }
