"""Lint findings in Chinese, for the modeler: elements named as its Chinese palette names them."""

from __future__ import annotations

from engine.definitions.diagram import local_name as local

# Element kinds as the modeler's Chinese palette names them.
_ZH_KINDS = {"startEvent": "开始事件", "endEvent": "结束事件", "userTask": "用户任务", "manualTask": "人工任务",
             "serviceTask": "服务任务", "scriptTask": "脚本任务", "businessRuleTask": "业务规则任务",
             "sendTask": "发送任务", "receiveTask": "接收任务", "task": "任务", "callActivity": "调用活动",
             "subProcess": "子流程", "exclusiveGateway": "排他网关", "parallelGateway": "并行网关",
             "inclusiveGateway": "包容网关", "eventBasedGateway": "事件网关", "intermediateCatchEvent": "中间捕获事件",
             "intermediateThrowEvent": "中间抛出事件", "boundaryEvent": "边界事件", "sequenceFlow": "连线",
             "process": "流程", "lane": "泳道"}
_ZH_WHAT = {"condition": "条件表达式", "script": "脚本", "instructions": "提示内容"}


def zh_label(node) -> str:
    """An element as the Chinese findings name it: 用户任务「登记住户求助」."""
    kind = _ZH_KINDS.get(local(node), "元素")
    name = (node.get("name") or "").strip()
    return f"{kind}「{name}」" if name else kind


def zh_what(what: str) -> str:
    return next((words for key, words in _ZH_WHAT.items() if key in what.lower()), "表达式")
