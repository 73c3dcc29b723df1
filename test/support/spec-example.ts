/** The example of SPEC.md §2, verbatim: the definition every language test starts from. */
export const ORDER_FULFILMENT = {
  "name": "order-fulfilment",
  "description": "Charge, reserve stock, ship, invoice",
  "input":  { "type": "object", "required": ["orderId", "total"],
              "properties": { "orderId": {"type": "string"}, "total": {"type": "number"} } },
  "output": "{% $steps.summary.output %}",
  "defaults": { "timeout": "30s", "retry": { "maxAttempts": 3, "initialInterval": "1s", "backoffCoefficient": 2 } },
  "steps": {
    "charge":  { "type": "http", "method": "POST", "url": "https://pay.example/charges",
                 "headers": { "Authorization": "Bearer {% $secret('PAY_TOKEN') %}" },
                 "body": { "order": "{% $input.orderId %}", "amount": "{% $input.total %}" },
                 "output": { "type": "object", "required": ["status", "body"] },
                 "compensate": { "type": "http", "method": "POST", "url": "https://pay.example/refunds",
                                 "body": { "charge": "{% $steps.charge.output.body.id %}" } } },
    "reserve": { "type": "http", "method": "POST", "url": "https://stock.example/reservations",
                 "body": { "order": "{% $input.orderId %}" },
                 "compensate": { "type": "http", "method": "DELETE",
                                 "url": "https://stock.example/reservations/{% $steps.reserve.output.body.id %}" } },
    "check":   { "type": "condition", "needs": ["charge", "reserve"],
                 "if": "{% $steps.charge.output.body.risk < 0.8 %}", "then": ["ship"], "else": ["review"] },
    "review":  { "type": "wait", "needs": ["check"], "signal": "approval", "timeout": "3d" },
    "ship":    { "type": "http", "needs": ["check"], "method": "POST", "url": "https://ship.example/shipments",
                 "body": { "order": "{% $input.orderId %}" } },
    "cooldown":{ "type": "delay", "needs": ["ship", "review"], "join": "any", "duration": "2h" },
    "invoice": { "type": "workflow", "needs": ["cooldown"], "definition": "send-invoice", "version": "latest",
                 "input": { "orderId": "{% $input.orderId %}" } },
    "summary": { "type": "transform", "needs": ["invoice"],
                 "value": { "order": "{% $input.orderId %}", "invoice": "{% $steps.invoice.output.number %}" } }
  }
};
