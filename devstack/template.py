"""What template.yaml says about a function, resolved the way `sam local invoke` would, without Docker.

Reading: a YAML loader that accepts CloudFormation's short tags (``!Ref``, ``!Sub``, ``!GetAtt``, ...) and
turns each into its long form (``{"Ref": ...}``, ``{"Fn::Sub": ...}``), so the rest of the code sees one
shape. Dates stay strings (``AWSTemplateFormatVersion: 2010-09-09`` is not a ``datetime``).

Globals: merged into each ``AWS::Serverless::Function`` as SAM does (samtranslator's globals plugin):
maps merge key by key with the function's value winning, lists concatenate (Globals first), scalars and
intrinsic functions are taken from the function when it has them, ``Architectures`` is replaced whole.

Resolving intrinsic functions locally (the rules, in order of use):

=========================  ===========================================================================
``Ref`` parameter          ``--parameter-overrides`` value, else the parameter's ``Default``;
                           ``CommaDelimitedList``/``List<...>`` parameters become lists
``Ref`` pseudo parameter   ``AWS::Region``: the region given (``AWS_REGION``/``AWS_DEFAULT_REGION``, else
                           ``us-east-1``); ``AWS::AccountId`` ``123456789012``; ``AWS::StackName``
                           ``local``; ``AWS::Partition`` ``aws``; ``AWS::URLSuffix`` ``amazonaws.com``;
                           ``AWS::StackId`` an ARN of the stack ``local``; ``AWS::NoValue`` removes the key.
                           These are sam's own local defaults; each can be overridden like a parameter
                           (``--parameter-overrides AWS::StackName=jira-issue-creator``).
``Ref`` resource           the value CloudFormation would return, built from the resource's name property
                           (``QueueName``, ``TableName``, ``FunctionName``, ...) or, when it has none,
                           ``<stack name>-<logical id>`` (CloudFormation adds a random suffix we cannot
                           know): a queue's URL, a table's or function's name, a secret's or topic's ARN.
                           Other resource types give their logical id, as sam does.
``Fn::GetAtt``             ``Arn`` of queues, tables, functions, secrets, topics, layers; a queue's
                           ``QueueName``/``QueueUrl``; an HTTP API's ``ApiEndpoint`` is
                           ``http://127.0.0.1:3000`` (``sam local start-api``'s address).
``Fn::Sub``, ``Fn::Join``, ``Fn::Select``, ``Fn::Split``, ``Fn::If`` (with ``Conditions``),
``Fn::FindInMap`` (with ``Mappings``), ``Fn::Base64``: evaluated.
anything else              ``Fn::ImportValue``, ``Fn::GetAZs``, an attribute we cannot know: the value
                           becomes ``<unresolved: {...}>`` and a warning names where it is, so the
                           function sees an obviously wrong value instead of sam's silent empty string.
=========================  ===========================================================================
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, Final

import yaml

from devstack.invoke import FunctionConfig, env_value

__all__ = [
    "DEFAULT_ACCOUNT_ID",
    "DEFAULT_REGION",
    "DEFAULT_STACK_NAME",
    "FunctionConfig",
    "Template",
    "TemplateError",
    "load_yaml",
    "parse_parameter_overrides",
]

DEFAULT_REGION: Final = "us-east-1"
DEFAULT_ACCOUNT_ID: Final = "123456789012"
DEFAULT_STACK_NAME: Final = "local"
#: Lambda's own defaults when neither Globals nor the function sets them.
DEFAULT_TIMEOUT: Final = 3
DEFAULT_MEMORY_SIZE: Final = 128
DEFAULT_ARCHITECTURE: Final = "x86_64"
#: Where ``sam local start-api`` serves an HTTP API: the local stand-in for ``ApiEndpoint``.
LOCAL_API_ENDPOINT: Final = "http://127.0.0.1:3000"

FUNCTION_TYPE: Final = "AWS::Serverless::Function"
LAYER_TYPES: Final = frozenset({"AWS::Serverless::LayerVersion", "AWS::Lambda::LayerVersion"})
#: Resources SAM creates from events without declaring them; ``!Ref ServerlessHttpApi`` is valid.
IMPLICIT_RESOURCES: Final = {
    "ServerlessHttpApi": "AWS::Serverless::HttpApi",
    "ServerlessRestApi": "AWS::Serverless::Api",
}
_NAME_PROPERTY: Final = {
    "AWS::SQS::Queue": "QueueName",
    "AWS::DynamoDB::Table": "TableName",
    "AWS::Serverless::SimpleTable": "TableName",
    "AWS::SecretsManager::Secret": "Name",
    "AWS::SNS::Topic": "TopicName",
    "AWS::Serverless::Function": "FunctionName",
    "AWS::Lambda::Function": "FunctionName",
    "AWS::Serverless::LayerVersion": "LayerName",
    "AWS::Lambda::LayerVersion": "LayerName",
    "AWS::S3::Bucket": "BucketName",
}
_SUB_VARIABLE: Final = re.compile(r"\$\{([^}]*)\}")
#: events/ naming: a function's events are ``events/<prefix>_*.json``, ``events/<prefix>.json`` or
#: ``events/<prefix>/*.json``, where the prefix is its CodeUri folder's name (``functions/api/`` -> ``api``)
#: or an alias below, for folders whose events are named after their trigger.
EVENT_PREFIX_ALIASES: Final[Mapping[str, tuple[str, ...]]] = {"issue_worker": ("sqs",)}


class TemplateError(ValueError):
    """The template cannot be read, or does not describe a function we can run here."""


# --- reading ---------------------------------------------------------------------------------------


class _CfnLoader(yaml.SafeLoader):
    """SafeLoader plus CloudFormation's short-form tags."""


def _intrinsic(long_name: str) -> Callable[[yaml.SafeLoader, yaml.Node], dict[str, Any]]:
    def construct(loader: yaml.SafeLoader, node: yaml.Node) -> dict[str, Any]:
        value: Any
        if isinstance(node, yaml.ScalarNode):
            value = loader.construct_scalar(node)
            # `!GetAtt Queue.Arn` is the short form of `Fn::GetAtt: [Queue, Arn]`; split at the first dot
            # only, since attribute names can hold dots (`Endpoint.Address`).
            if long_name == "Fn::GetAtt" and isinstance(value, str):
                value = value.split(".", 1)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            assert isinstance(node, yaml.MappingNode)
            value = loader.construct_mapping(node, deep=True)
        return {long_name: value}

    return construct


_SHORT_TAGS: Final = {
    "Ref": "Ref",
    "Condition": "Condition",
    **{
        name: f"Fn::{name}"
        for name in (
            *("And", "Base64", "Cidr", "Equals", "FindInMap", "GetAtt", "GetAZs", "If", "ImportValue"),
            *("Join", "Not", "Or", "Select", "Split", "Sub", "Transform", "Length", "ToJsonString"),
        )
    },
}
for _tag, _long in _SHORT_TAGS.items():
    _CfnLoader.add_constructor(f"!{_tag}", _intrinsic(_long))


def _timestamp_as_text(loader: yaml.SafeLoader, node: yaml.Node) -> str:
    # CloudFormation has no dates: `2010-09-09` is the string it looks like.
    assert isinstance(node, yaml.ScalarNode)
    return str(loader.construct_scalar(node))


_CfnLoader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp_as_text)


def load_yaml(text: str) -> Any:
    """Parse a CloudFormation/SAM template (YAML or JSON) into plain dicts with long-form intrinsics."""
    return yaml.load(text, Loader=_CfnLoader)  # noqa: S506 - _CfnLoader is a SafeLoader


def parse_parameter_overrides(values: list[str] | None) -> dict[str, str]:
    """``Key=Value`` items, or CloudFormation's ``ParameterKey=K,ParameterValue=V``, as sam accepts them.

    Each item may hold several space-separated pairs (``"A=1 B=2"``), as in samconfig.toml.
    """
    result: dict[str, str] = {}
    for item in values or []:
        for token in _split_overrides(item):
            if token.startswith("ParameterKey="):
                key_part, _, value_part = token.partition(",ParameterValue=")
                key, value = key_part.removeprefix("ParameterKey="), value_part
            else:
                key, sep, value = token.partition("=")
                if not sep:
                    raise TemplateError(f"parameter override {token!r} is not Key=Value")
            result[key] = value
    return result


def _split_overrides(item: str) -> Iterator[str]:
    # Values may be quoted to hold spaces: `Tags="a b"`. shlex would also eat backslashes in values.
    for match in re.finditer(r'(?:[^\s"]|"[^"]*")+', item):
        yield match.group(0).replace('"', "")


# --- merging Globals (samtranslator's rules) -------------------------------------------------------


def is_intrinsic(value: Any) -> bool:
    """A one-key dict whose key is ``Ref``, ``Condition`` or ``Fn::...``."""
    if not isinstance(value, dict) or len(value) != 1:
        return False
    (key,) = value
    return isinstance(key, str) and (key in {"Ref", "Condition"} or key.startswith("Fn::"))


def merge_globals(global_value: Any, local_value: Any, path: str = "") -> Any:
    """SAM's Globals merge: maps merge, lists concatenate, everything else (intrinsics too) is local."""
    both_maps = all(isinstance(v, dict) and not is_intrinsic(v) for v in (global_value, local_value))
    if both_maps:
        merged = dict(global_value)
        for key, value in local_value.items():
            child = f"{path}.{key}".lstrip(".")
            merged[key] = merge_globals(merged[key], value, child) if key in merged else value
        return merged
    if isinstance(global_value, list) and isinstance(local_value, list):
        return local_value if path == "Architectures" else global_value + local_value
    return local_value


# --- the resolved function -------------------------------------------------------------------------


class _NoValue:
    """``AWS::NoValue``: the property or list item is removed."""


NO_VALUE: Final = _NoValue()


class Template:
    """A parsed template with the parameters and pseudo parameters of one local run."""

    def __init__(
        self,
        document: Mapping[str, Any],
        *,
        base_dir: Path,
        parameter_overrides: Mapping[str, str] | None = None,
        region: str = DEFAULT_REGION,
    ) -> None:
        if not isinstance(document, Mapping) or not isinstance(document.get("Resources"), Mapping):
            raise TemplateError("not a CloudFormation template: no Resources section")
        self.document = document
        self.base_dir = base_dir
        self.resources: Mapping[str, Any] = document["Resources"]
        self.function_globals: Mapping[str, Any] = (document.get("Globals") or {}).get("Function") or {}
        overrides = dict(parameter_overrides or {})
        self.pseudo: dict[str, str] = {
            "AWS::Region": region,
            "AWS::AccountId": DEFAULT_ACCOUNT_ID,
            "AWS::StackName": DEFAULT_STACK_NAME,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
        }
        self.pseudo.update({k: v for k, v in overrides.items() if k in self.pseudo})
        self.pseudo["AWS::StackId"] = (
            f"arn:aws:cloudformation:{self.pseudo['AWS::Region']}:{self.pseudo['AWS::AccountId']}:"
            f"stack/{self.pseudo['AWS::StackName']}/00000000-0000-0000-0000-000000000000"
        )
        self.parameters = self._parameter_values(overrides)
        self.warnings: list[str] = []

    @classmethod
    def load(
        cls,
        path: Path,
        *,
        parameter_overrides: Mapping[str, str] | None = None,
        region: str = DEFAULT_REGION,
    ) -> Template:
        try:
            document = load_yaml(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as e:
            raise TemplateError(f"cannot read template {path}: {e}") from e
        return cls(
            document,
            base_dir=path.resolve().parent,
            parameter_overrides=parameter_overrides,
            region=region,
        )

    def _parameter_values(self, overrides: Mapping[str, str]) -> dict[str, Any]:
        declared: Mapping[str, Any] = self.document.get("Parameters") or {}
        unknown = sorted(set(overrides) - set(declared) - set(self.pseudo))
        if unknown:
            raise TemplateError(f"parameter overrides for undeclared parameters: {', '.join(unknown)}")
        values: dict[str, Any] = {}
        for name, spec in declared.items():
            raw = overrides.get(name, spec.get("Default"))
            if raw is None:
                continue  # no value: a Ref to it is reported where it is used
            allowed = [_to_str(v) for v in spec.get("AllowedValues") or []]
            if allowed and _to_str(raw) not in allowed:
                raise TemplateError(f"parameter {name}={raw!r} is not one of its AllowedValues {allowed}")
            kind = str(spec.get("Type", "String"))
            is_list = kind == "CommaDelimitedList" or kind.startswith("List<")
            values[name] = [p.strip() for p in str(raw).split(",")] if is_list else _to_str(raw)
        return values

    # --- functions ---

    def function_ids(self) -> list[str]:
        """Logical ids of the functions this tool can run (zip-packaged ``AWS::Serverless::Function``)."""
        return [
            lid
            for lid, resource in self.resources.items()
            if isinstance(resource, Mapping) and resource.get("Type") == FUNCTION_TYPE
        ]

    def function_properties(self, logical_id: str) -> dict[str, Any]:
        """The function's Properties with Globals.Function merged in, intrinsics not yet resolved."""
        resource = self.resources.get(logical_id)
        if not isinstance(resource, Mapping) or resource.get("Type") != FUNCTION_TYPE:
            known = ", ".join(self.function_ids()) or "none"
            raise TemplateError(f"{logical_id!r} is not an {FUNCTION_TYPE} (functions: {known})")
        merged: dict[str, Any] = merge_globals(dict(self.function_globals), resource.get("Properties") or {})
        return merged

    def function_config(self, logical_id: str) -> FunctionConfig:
        """Resolve Handler, CodeUri, Runtime, Timeout, MemorySize, Environment and Layers of one function."""
        self.warnings = []
        props = self.function_properties(logical_id)
        where = f"{logical_id}.Properties"
        if props.get("PackageType") == "Image":
            raise TemplateError(f"{logical_id} is an image function: only zip functions run without Docker")
        if "InlineCode" in props:
            raise TemplateError(f"{logical_id} uses InlineCode: only CodeUri folders are supported")
        handler = self.resolve(props.get("Handler"), f"{where}.Handler")
        code_uri = self.resolve(props.get("CodeUri"), f"{where}.CodeUri")
        if not isinstance(handler, str) or not handler:
            raise TemplateError(f"{logical_id} has no Handler")
        if not isinstance(code_uri, str):
            raise TemplateError(f"{logical_id}: CodeUri must be a local folder, got {code_uri!r}")
        code_dir = (self.base_dir / code_uri).resolve()
        if not code_dir.is_dir():
            raise TemplateError(f"{logical_id}: CodeUri {code_uri!r} is not a folder under {self.base_dir}")
        architectures = self.resolve(props.get("Architectures"), f"{where}.Architectures") or []
        environment = self.resolve((props.get("Environment") or {}).get("Variables") or {}, f"{where}.Env")
        layer_paths, remote_layers = self._layers(props.get("Layers") or [], f"{where}.Layers")
        name = self._physical_name(logical_id)
        return FunctionConfig(
            logical_id=logical_id,
            function_name=name,
            handler=handler,
            code_uri=code_dir,
            runtime=_to_str(self.resolve(props.get("Runtime"), f"{where}.Runtime")),
            architecture=str(architectures[0]) if architectures else DEFAULT_ARCHITECTURE,
            timeout=self._whole_number(props.get("Timeout", DEFAULT_TIMEOUT), f"{where}.Timeout"),
            memory_size=self._whole_number(props.get("MemorySize", DEFAULT_MEMORY_SIZE), f"{where}.Memory"),
            environment={str(k): _to_str(v) for k, v in environment.items()},
            layer_paths=tuple(layer_paths),
            remote_layers=tuple(remote_layers),
            warnings=tuple(self.warnings),
        )

    def event_prefixes(self, logical_id: str) -> tuple[str, ...]:
        """The events/ file prefixes of a function (see ``EVENT_PREFIX_ALIASES``)."""
        code_uri = self.resolve(self.function_properties(logical_id).get("CodeUri"), logical_id)
        folder = Path(str(code_uri)).name
        return (folder, *EVENT_PREFIX_ALIASES.get(folder, ()))

    def event_files(self, logical_id: str, events_dir: Path) -> list[Path]:
        """The sample events of a function in ``events_dir``, by the naming convention above."""
        found: set[Path] = set()
        for prefix in self.event_prefixes(logical_id):
            found.update(events_dir.glob(f"{prefix}_*.json"))
            found.update(events_dir.glob(f"{prefix}.json"))
            found.update(events_dir.glob(f"{prefix}/*.json"))
        return sorted(found)

    def _whole_number(self, value: Any, where: str) -> int:
        resolved = self.resolve(value, where)
        try:
            return int(resolved)
        except (TypeError, ValueError):
            raise TemplateError(f"{where} must be a whole number, got {resolved!r}") from None

    def _layers(self, layers: list[Any], where: str) -> tuple[list[Path], list[str]]:
        local: list[Path] = []
        remote: list[str] = []
        # Lambda extracts layers into /opt in order, a later layer overwriting an earlier one's files:
        # the last layer wins, so it comes first on sys.path.
        for index, layer in reversed(list(enumerate(layers))):
            ref = layer.get("Ref") if is_intrinsic(layer) else None
            resource = self.resources.get(ref) if isinstance(ref, str) else None
            if isinstance(resource, Mapping) and resource.get("Type") in LAYER_TYPES:
                local.extend(self._layer_paths(ref, resource, f"{where}[{index}]"))
                continue
            arn = _to_str(self.resolve(layer, f"{where}[{index}]"))
            remote.append(arn)
            self.warnings.append(
                f"{where}[{index}]: layer {arn} is not in this template and cannot be fetched offline; "
                "its packages come from this interpreter's site-packages, if installed there"
            )
        return local, remote

    def _layer_paths(self, logical_id: Any, resource: Mapping[str, Any], where: str) -> list[Path]:
        props = resource.get("Properties") or {}
        content = self.resolve(props.get("ContentUri", props.get("Content")), f"{where}.ContentUri")
        if not isinstance(content, str):
            self.warnings.append(f"{where}: layer {logical_id} has no local ContentUri; skipped")
            return []
        root = (self.base_dir / content).resolve()
        build_method = str((resource.get("Metadata") or {}).get("BuildMethod", ""))
        # Lambda also puts /opt/python/lib/python3.X/site-packages on sys.path.
        paths = sorted(root.glob("python/lib/python3*/site-packages"))
        if (root / "python").is_dir():
            paths.insert(0, root / "python")  # zipped as is, python/ lands in /opt/python
        if build_method.startswith("python"):
            paths.insert(0, root)  # `sam build` installs requirements.txt and copies the folder into python/
        if not paths:
            self.warnings.append(
                f"{where}: layer {logical_id} ({content}) has no python/ folder and no Python BuildMethod, "
                "so Lambda would not put it on sys.path; neither does this run"
            )
        return paths

    # --- intrinsic functions ---

    def resolve(self, value: Any, where: str) -> Any:
        """``value`` with every intrinsic function evaluated (see the module docstring for the rules)."""
        if is_intrinsic(value):
            ((name, argument),) = value.items()
            handler = _INTRINSICS.get(name)
            if handler is None:
                return self._unresolved(value, where)
            try:
                return handler(self, argument, where)
            except TemplateError:
                raise
            except (TypeError, ValueError, IndexError, KeyError, AttributeError):
                return self._unresolved(value, where)  # malformed arguments; cfn-lint says more
        if isinstance(value, dict):
            resolved = {k: self.resolve(v, f"{where}.{k}") for k, v in value.items()}
            return {k: v for k, v in resolved.items() if v is not NO_VALUE}
        if isinstance(value, list):
            items = [self.resolve(v, f"{where}[{i}]") for i, v in enumerate(value)]
            return [v for v in items if v is not NO_VALUE]
        return value

    def _unresolved(self, value: Any, where: str) -> str:
        shown = json.dumps(value, separators=(",", ":"), sort_keys=True)
        self.warnings.append(f"{where}: cannot resolve {shown} here; placeholder used (set it in env.json)")
        return f"<unresolved: {shown}>"

    def _ref(self, name: Any, where: str) -> Any:
        if name == "AWS::NoValue":
            return NO_VALUE
        if name in self.pseudo:
            return self.pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        if isinstance(name, str) and (name in self.resources or name in IMPLICIT_RESOURCES):
            return self._ref_resource(name)
        return self._unresolved({"Ref": name}, where)

    def _resource_type(self, logical_id: str) -> str:
        resource = self.resources.get(logical_id)
        if isinstance(resource, Mapping):
            return str(resource.get("Type", ""))
        return IMPLICIT_RESOURCES.get(logical_id, "")

    def _physical_name(self, logical_id: str) -> str:
        resource = self.resources.get(logical_id)
        props = (resource.get("Properties") or {}) if isinstance(resource, Mapping) else {}
        prop = _NAME_PROPERTY.get(self._resource_type(logical_id))
        if prop and prop in props:
            name = self.resolve(props[prop], f"{logical_id}.Properties.{prop}")
            if isinstance(name, str):
                return name
        fifo = ".fifo" if props.get("FifoQueue") in (True, "true") else ""
        return f"{self.pseudo['AWS::StackName']}-{logical_id}{fifo}"

    def _arn(self, logical_id: str) -> str | None:
        region, account = self.pseudo["AWS::Region"], self.pseudo["AWS::AccountId"]
        kind = self._resource_type(logical_id)
        name = self._physical_name(logical_id)
        arns = {
            "AWS::SQS::Queue": f"arn:aws:sqs:{region}:{account}:{name}",
            "AWS::DynamoDB::Table": f"arn:aws:dynamodb:{region}:{account}:table/{name}",
            "AWS::Serverless::SimpleTable": f"arn:aws:dynamodb:{region}:{account}:table/{name}",
            "AWS::SecretsManager::Secret": f"arn:aws:secretsmanager:{region}:{account}:secret:{name}",
            "AWS::SNS::Topic": f"arn:aws:sns:{region}:{account}:{name}",
            "AWS::Serverless::Function": f"arn:aws:lambda:{region}:{account}:function:{name}",
            "AWS::Lambda::Function": f"arn:aws:lambda:{region}:{account}:function:{name}",
            "AWS::Serverless::LayerVersion": f"arn:aws:lambda:{region}:{account}:layer:{name}:1",
            "AWS::Lambda::LayerVersion": f"arn:aws:lambda:{region}:{account}:layer:{name}:1",
            "AWS::S3::Bucket": f"arn:aws:s3:::{name}",
        }
        return arns.get(kind)

    def _ref_resource(self, logical_id: str) -> str:
        kind = self._resource_type(logical_id)
        if kind == "AWS::SQS::Queue":
            region, account = self.pseudo["AWS::Region"], self.pseudo["AWS::AccountId"]
            return f"https://sqs.{region}.amazonaws.com/{account}/{self._physical_name(logical_id)}"
        if kind in {"AWS::SecretsManager::Secret", "AWS::SNS::Topic"} or kind in LAYER_TYPES:
            return self._arn(logical_id) or logical_id
        if kind in _NAME_PROPERTY:
            return self._physical_name(logical_id)
        return logical_id

    def _get_att(self, argument: Any, where: str) -> Any:
        if not (isinstance(argument, list) and len(argument) == 2):
            return self._unresolved({"Fn::GetAtt": argument}, where)
        logical_id, attribute = argument[0], self.resolve(argument[1], where)
        kind = self._resource_type(str(logical_id))
        if attribute == "Arn" and (arn := self._arn(str(logical_id))):
            return arn
        if kind == "AWS::SQS::Queue" and attribute == "QueueName":
            return self._physical_name(logical_id)
        if kind == "AWS::SQS::Queue" and attribute == "QueueUrl":
            return self._ref_resource(logical_id)
        if kind in {"AWS::Serverless::HttpApi", "AWS::ApiGatewayV2::Api"} and attribute == "ApiEndpoint":
            return LOCAL_API_ENDPOINT
        return self._unresolved({"Fn::GetAtt": argument}, where)

    def _sub(self, argument: Any, where: str) -> Any:
        if isinstance(argument, list) and len(argument) == 2:
            text, variables = argument[0], self.resolve(argument[1], where)
        else:
            text, variables = argument, {}
        if not isinstance(text, str) or not isinstance(variables, dict):
            return self._unresolved({"Fn::Sub": argument}, where)

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"  # `${!Literal}` is the escape for a literal `${Literal}`
            if name in variables:
                return _to_str(variables[name])
            if "." in name and name.split(".", 1)[0] in self.resources:
                return _to_str(self._get_att(name.split(".", 1), where))
            return _to_str(self._ref(name, where))

        return _SUB_VARIABLE.sub(replace, text)

    def _join(self, argument: Any, where: str) -> Any:
        delimiter, items = argument
        items = self.resolve(items, where)
        return str(delimiter).join(_to_str(i) for i in items)

    def _select(self, argument: Any, where: str) -> Any:
        index, items = self.resolve(argument, where)
        return items[int(index)]

    def _split(self, argument: Any, where: str) -> Any:
        delimiter, text = self.resolve(argument, where)
        return str(text).split(str(delimiter))

    def _find_in_map(self, argument: Any, where: str) -> Any:
        name, top, second = self.resolve(argument, where)
        try:
            return self.document["Mappings"][name][top][second]
        except (KeyError, TypeError):
            return self._unresolved({"Fn::FindInMap": argument}, where)

    def _if(self, argument: Any, where: str) -> Any:
        condition, when_true, when_false = argument
        chosen = when_true if self.condition(condition, where) else when_false
        return self.resolve(chosen, where)

    def condition(self, name: str, where: str) -> bool:
        """Evaluate a named entry of ``Conditions``."""
        conditions: Mapping[str, Any] = self.document.get("Conditions") or {}
        if name not in conditions:
            raise TemplateError(f"{where}: unknown condition {name!r}")
        return bool(self.resolve(conditions[name], f"Conditions.{name}"))

    def _equals(self, argument: Any, where: str) -> bool:
        left, right = self.resolve(argument, where)
        return _to_str(left) == _to_str(right)

    def _not(self, argument: Any, where: str) -> bool:
        return not self.resolve(argument, where)[0]

    def _and(self, argument: Any, where: str) -> bool:
        return all(self.resolve(argument, where))

    def _or(self, argument: Any, where: str) -> bool:
        return any(self.resolve(argument, where))

    def _condition_ref(self, argument: Any, where: str) -> bool:
        return self.condition(str(argument), where)

    def _base64(self, argument: Any, where: str) -> str:
        return base64.b64encode(_to_str(self.resolve(argument, where)).encode()).decode()


_INTRINSICS: Final[dict[str, Callable[[Template, Any, str], Any]]] = {
    "Ref": Template._ref,
    "Fn::GetAtt": Template._get_att,
    "Fn::Sub": Template._sub,
    "Fn::Join": Template._join,
    "Fn::Select": Template._select,
    "Fn::Split": Template._split,
    "Fn::FindInMap": Template._find_in_map,
    "Fn::If": Template._if,
    "Fn::Equals": Template._equals,
    "Fn::Not": Template._not,
    "Fn::And": Template._and,
    "Fn::Or": Template._or,
    "Condition": Template._condition_ref,
    "Fn::Base64": Template._base64,
}


def _to_str(value: Any) -> str:
    return "" if value is NO_VALUE else env_value(value)
